################################################################################
# The stack's roles, per environment, and the account's Access Analyzer
################################################################################

# AWS has no condition key on a role's trust policy: a deploy role allowed to create roles could
# create one (bounded, but still) trusted by another account. So the stack's roles are created
# here, by the administrator, each trusted only by the one service that runs it and bounded by its
# environment's boundary. The stack (infra/stack, applied by the deploy role) looks them up by name
# and writes their inline policies, within that boundary.

locals {
  # Role key => the one service that may assume the role, and a description (%s: <project>-<env>).
  # The role is <project>-<env>-<key>, the name the stack builds (infra/stack/main.tf, local.names;
  # the Lambda's role is named after its function, <project>-<env>-pipeline). source_account: the
  # confused-deputy condition aws:SourceAccount = this account, as the modules had it (none for the
  # Lambda execution role, as before).
  stack_roles = {
    glue = {
      service        = "glue.amazonaws.com"
      source_account = true
      description    = "Glue jobs of %s: read and write the lake zones of the ETL"
    }
    pipeline = {
      service        = "lambda.amazonaws.com"
      source_account = false
      description    = "Lambda %s-pipeline: read final/ and the model archive, publish predictions"
    }
    sfn = {
      service        = "states.amazonaws.com"
      source_account = true
      description    = "State machine %s-pipeline: one statement per service integration"
    }
    scheduler = {
      service        = "scheduler.amazonaws.com"
      source_account = true
      description    = "EventBridge Scheduler: start %s-pipeline executions"
    }
    training = {
      service        = "sagemaker.amazonaws.com"
      source_account = true
      description    = "SageMaker training jobs of %s: read the final table, write the model, pull the image"
    }
  }

  # One entry per environment and role, keyed "<env>/<key>".
  stack_role_instances = {
    for pair in setproduct(var.environments, keys(local.stack_roles)) : "${pair[0]}/${pair[1]}" => {
      environment = pair[0]
      key         = pair[1]
      name        = "${var.project}-${pair[0]}-${pair[1]}"
    }
  }
}

data "aws_iam_policy_document" "stack_role_trust" {
  for_each = local.stack_roles

  statement {
    sid     = "${title(each.key)}ServiceAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = [each.value.service]
    }

    dynamic "condition" {
      for_each = each.value.source_account ? [local.account_id] : []
      content {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [condition.value]
      }
    }
  }
}

resource "aws_iam_role" "stack" {
  for_each = local.stack_role_instances

  name               = each.value.name
  description        = format(local.stack_roles[each.value.key].description, "${var.project}-${each.value.environment}")
  assume_role_policy = data.aws_iam_policy_document.stack_role_trust[each.value.key].json
  # The boundary's ARN from its name (no path): the same ARN the environments derive, and the
  # reference still orders the role after its boundary.
  permissions_boundary = "arn:${local.partition}:iam::${local.account_id}:policy/${aws_iam_policy.boundary[each.value.environment].name}"

  # The role belongs to its environment; its inline policy is the stack's (aws_iam_role_policy in
  # infra/modules), so no inline_policy or managed policy is declared here.
  tags = {
    Environment = each.value.environment
  }
}

################################################################################
# IAM Access Analyzer: reports any role, bucket or key shared outside the account
################################################################################

resource "aws_accessanalyzer_analyzer" "account" {
  analyzer_name = "${var.project}-account"
  type          = "ACCOUNT"
}

output "stack_role_arns" {
  description = "The stack's roles per environment and key (glue, pipeline, sfn, scheduler, training); infra/stack looks them up by name."
  value = {
    for env in var.environments : env => {
      for key in keys(local.stack_roles) : key => aws_iam_role.stack["${env}/${key}"].arn
    }
  }
}

output "stack_role_trust_statements" {
  description = "Trust policy statements of every stack role, keyed <env>/<key> (for tests and review)."
  value       = { for k, role in local.stack_role_instances : k => data.aws_iam_policy_document.stack_role_trust[role.key].statement }
}

output "access_analyzer_arn" {
  description = "The account's IAM Access Analyzer (findings: resources shared outside the account)."
  value       = aws_accessanalyzer_analyzer.account.arn
}
