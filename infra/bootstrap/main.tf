data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  repository   = "${var.github_owner}/${var.github_repo}"
  state_bucket = coalesce(var.state_bucket_name, "${var.project}-tfstate-${local.account_id}-${local.region}")
  # State keys are <project>/<env>/terraform.tfstate (environments/<env>/backend.tf).
  state_prefix = var.project

  oidc_url          = "https://token.actions.githubusercontent.com"
  oidc_host         = "token.actions.githubusercontent.com"
  oidc_provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn

  # The OIDC subjects that may assume a role. The repository's subject template includes the
  # workflow (scripts/github-settings.py: repo, context, job_workflow_ref), so a subject names the
  # GitHub environment or event AND the workflow file and the ref it ran from: a workflow edited
  # on a branch or in a pull request cannot take a deploy role, even if it declares the
  # environment.
  workflow_ref = { for wf in distinct(concat(var.deploy_workflows, var.plan_workflows)) : wf => "${local.repository}/.github/workflows/${wf}@refs/heads/${var.deploy_branch}" }
  deploy_subjects = {
    for env in var.environments : env => [
      for wf in var.deploy_workflows : "repo:${local.repository}:environment:${env}:job_workflow_ref:${local.workflow_ref[wf]}"
    ]
  }
  # Read-only plans: jobs of the main branch without an environment (the prod plan before
  # approval, the dispatch plan, the scheduled drift check), and for the environments listed in
  # pull_request_plan_environments, this repository's pull requests (whose pr.yml is the pull
  # request's own: hence read-only, and never prod, whose plan reads prod's state).
  plan_subjects = {
    for env in var.environments : env => {
      main = [for wf in var.plan_workflows : "repo:${local.repository}:ref:refs/heads/${var.deploy_branch}:job_workflow_ref:${local.workflow_ref[wf]}"]
      pull_request = contains(var.pull_request_plan_environments, env) ? [
        "repo:${local.repository}:pull_request:job_workflow_ref:${local.repository}/.github/workflows/${var.pull_request_workflow}@refs/pull/*/merge",
      ] : []
    }
  }

  arn = {
    for env in var.environments : env => {
      s3 = [
        "arn:${local.partition}:s3:::${var.project}-${env}-*",
        "arn:${local.partition}:s3:::${var.project}-${env}-*/*",
      ]
      kms_alias = ["arn:${local.partition}:kms:${local.region}:${local.account_id}:alias/${var.project}-${env}"]
      iam_role  = ["arn:${local.partition}:iam::${local.account_id}:role/${var.project}-${env}-*"]
      glue = [
        "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
        "arn:${local.partition}:glue:${local.region}:${local.account_id}:job/${var.project}-${env}-*",
        "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${var.project}_${env}",
        "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${var.project}_${env}/*",
      ]
      lambda = ["arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.project}-${env}-*"]
      logs = flatten([
        for group in ["/aws/lambda/${var.project}-${env}-*", "/aws/vendedlogs/states/${var.project}-${env}-*", "/aws-glue/jobs/${var.project}-${env}"] : [
          "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${group}",
          "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${group}:*",
        ]
      ])
      states = [
        "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${var.project}-${env}-*",
        "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${var.project}-${env}-*:*",
      ]
      scheduler = [
        "arn:${local.partition}:scheduler:${local.region}:${local.account_id}:schedule-group/${var.project}-${env}",
        "arn:${local.partition}:scheduler:${local.region}:${local.account_id}:schedule/${var.project}-${env}/*",
      ]
      sns = [
        "arn:${local.partition}:sns:${local.region}:${local.account_id}:${var.project}-${env}-*",
      ]
      cloudwatch = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.project}-${env}-*"]
      ecr        = ["arn:${local.partition}:ecr:${local.region}:${local.account_id}:repository/${var.project}-${env}-*"]
    }
  }

  # What `terraform plan` needs to refresh the stack, by service. Explicit lists: no wildcard.
  read_actions = {
    s3 = [
      "s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketPolicy", "s3:GetBucketPolicyStatus",
      "s3:GetBucketVersioning", "s3:GetEncryptionConfiguration", "s3:GetBucketPublicAccessBlock",
      "s3:GetBucketOwnershipControls", "s3:GetLifecycleConfiguration", "s3:GetBucketLogging",
      "s3:GetBucketTagging", "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketWebsite",
      "s3:GetAccelerateConfiguration", "s3:GetBucketRequestPayment", "s3:GetReplicationConfiguration",
      "s3:GetBucketObjectLockConfiguration", "s3:GetBucketNotification",
    ]
    kms_key  = ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"]
    iam_role = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies"]
    glue     = ["glue:GetJob", "glue:GetTags", "glue:GetDatabase", "glue:GetTable", "glue:GetPartitionIndexes"]
    lambda = [
      "lambda:GetFunction", "lambda:GetFunctionConfiguration", "lambda:GetFunctionCodeSigningConfig",
      "lambda:GetRuntimeManagementConfig", "lambda:ListVersionsByFunction", "lambda:ListTags", "lambda:GetPolicy",
    ]
    logs       = ["logs:ListTagsForResource", "logs:ListTagsLogGroup"]
    states     = ["states:DescribeStateMachine", "states:ListStateMachineVersions", "states:ListTagsForResource", "states:DescribeExecution", "states:GetExecutionHistory"]
    scheduler  = ["scheduler:GetSchedule", "scheduler:GetScheduleGroup", "scheduler:ListTagsForResource"]
    sns        = ["sns:GetTopicAttributes", "sns:GetSubscriptionAttributes", "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource", "sns:GetDataProtectionPolicy"]
    cloudwatch = ["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"]
    ecr        = ["ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:GetRepositoryPolicy", "ecr:ListTagsForResource", "ecr:DescribeImages"]
  }

  # What `terraform apply`, the artifact upload, the image push and the smoke run add.
  write_actions = {
    s3 = [
      "s3:CreateBucket", "s3:PutBucketPolicy", "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration",
      "s3:PutBucketPublicAccessBlock", "s3:PutBucketOwnershipControls", "s3:PutLifecycleConfiguration",
      "s3:PutBucketLogging", "s3:PutBucketTagging",
    ]
    kms_alias = ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"]
    kms_key = [
      "kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias", "kms:EnableKeyRotation", "kms:PutKeyPolicy",
      "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription",
      "kms:CreateGrant", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey",
    ]
    # The stack's roles are created here in bootstrap (stack_roles.tf), trusted only by their
    # service: the deploy role writes their inline policies (bounded_role_actions, only with the
    # environment's boundary) and deletes them, nothing else. It can neither create a role nor
    # change a trust policy (DenyCreatingOrRetrustingRoles): AWS has no condition on a trust
    # policy's content, so a role it could create could be trusted by any account.
    iam_role = ["iam:DeleteRolePolicy"]
    glue = [
      "glue:CreateJob", "glue:UpdateJob", "glue:DeleteJob", "glue:TagResource", "glue:UntagResource",
      "glue:CreateDatabase", "glue:UpdateDatabase", "glue:DeleteDatabase", "glue:CreateTable",
      "glue:UpdateTable", "glue:DeleteTable",
    ]
    lambda = [
      "lambda:CreateFunction", "lambda:DeleteFunction", "lambda:UpdateFunctionCode",
      "lambda:UpdateFunctionConfiguration", "lambda:TagResource", "lambda:UntagResource",
    ]
    logs = [
      "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:AssociateKmsKey",
      "logs:DisassociateKmsKey", "logs:TagResource", "logs:UntagResource", "logs:TagLogGroup", "logs:UntagLogGroup",
    ]
    states = [
      "states:CreateStateMachine", "states:UpdateStateMachine", "states:DeleteStateMachine",
      "states:TagResource", "states:UntagResource", "states:StartExecution", "states:StopExecution",
    ]
    scheduler = [
      "scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule",
      "scheduler:CreateScheduleGroup", "scheduler:DeleteScheduleGroup", "scheduler:TagResource", "scheduler:UntagResource",
    ]
    sns = [
      "sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes", "sns:Subscribe", "sns:Unsubscribe",
      "sns:SetSubscriptionAttributes", "sns:TagResource", "sns:UntagResource",
    ]
    cloudwatch = ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource"]
    ecr = [
      "ecr:CreateRepository", "ecr:PutLifecyclePolicy", "ecr:DeleteLifecyclePolicy",
      "ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability", "ecr:TagResource", "ecr:UntagResource",
      "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
      "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
    ]
  }

  # What only the deploy role of a disposable environment (its stack sets force_destroy = true)
  # may do: delete buckets, objects and object versions, the key and the image repository. A
  # protected environment's deploy role keeps none of it (and is denied it outright): its data
  # outlives any deployment, and a destroy there is an administrator's act.
  destroy_actions = {
    s3      = ["s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:DeleteObject", "s3:ListBucketVersions", "s3:GetObjectVersion", "s3:DeleteObjectVersion"]
    kms_key = ["kms:ScheduleKeyDeletion"]
    ecr     = ["ecr:DeleteRepository"]
  }
  disposable = { for env in var.environments : env => contains(var.disposable_environments, env) }

  # Actions AWS only accepts on "*" (no resource type), needed by plan and apply.
  unscoped_read_actions = [
    "kms:ListAliases",
    "logs:DescribeLogGroups",
    "states:ListStateMachines",
  ]
  unscoped_write_actions = [
    "ecr:GetAuthorizationToken",
    # Step Functions execution logging (vended log delivery). Only through Step Functions itself:
    # DenyDirectAccountWideLogChanges below.
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
  ]

  scoped_services = ["s3", "kms_alias", "iam_role", "glue", "lambda", "logs", "states", "scheduler", "sns", "cloudwatch", "ecr"]

  # Writing a role's permissions: allowed only when the role has (or is given) the environment's
  # boundary (condition iam:PermissionsBoundary). AttachRolePolicy is not needed (the stack uses
  # inline policies only) and stays ungranted.
  bounded_role_actions = ["iam:PutRolePolicy"]
  # Denied outright whenever the boundary is missing or another one, whatever else is ever allowed.
  boundary_guarded_actions = ["iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary", "iam:AttachRolePolicy"]
  # Changing or removing the boundary itself.
  boundary_policy_write_actions = [
    "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion",
    "iam:TagPolicy", "iam:UntagPolicy",
  ]

  # One boundary per environment: the most any role of the stack may ever do. Its name is the
  # convention the environment roots derive the ARN from (environments/*/main.tf).
  boundary_name = { for env in var.environments : env => "${var.project}-${env}-boundary" }
  boundary_arn  = { for env in var.environments : env => "arn:${local.partition}:iam::${local.account_id}:policy/${local.boundary_name[env]}" }
}

################################################################################
# State bucket and its key
################################################################################

data "aws_iam_policy_document" "state_key" {
  #checkov:skip=CKV_AWS_109:In a key policy "*" is the key itself; the account root statement delegates to IAM policies, which are scoped.
  #checkov:skip=CKV_AWS_111:In a key policy "*" is the key itself; the account root statement delegates to IAM policies, which are scoped.
  #checkov:skip=CKV_AWS_356:In a key policy "*" is the key itself, not every resource of the account.
  statement {
    sid    = "AccountAdministersAndUsesKey"
    effect = "Allow"
    actions = [
      "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:CreateGrant", "kms:DeleteAlias", "kms:DescribeKey",
      "kms:DisableKey", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus",
      "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies", "kms:ListResourceTags", "kms:PutKeyPolicy",
      "kms:RevokeGrant", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias",
      "kms:UpdateKeyDescription", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
    ]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "state" {
  description             = "Terraform state of ${var.project}"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.state_key.json
}

resource "aws_kms_alias" "state" {
  name          = "alias/${var.project}-tfstate"
  target_key_id = aws_kms_key.state.key_id
}

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_18:Access to the state is recorded by CloudTrail; a log bucket for a few state objects would itself need a bootstrap.
  #checkov:skip=CKV_AWS_144:State is versioned and small; cross-region replication would need a second region and key for no practical gain here.
  #checkov:skip=CKV2_AWS_62:Nothing consumes state bucket events.
  # No force_destroy: Terraform cannot delete the bucket while it holds any state version.
  bucket = local.state_bucket
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.state.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket     = aws_s3_bucket.state.id
  depends_on = [aws_s3_bucket_versioning.state]

  rule {
    id     = "keep-state-history"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }

    noncurrent_version_expiration {
      noncurrent_days = 90
    }
  }
}

data "aws_iam_policy_document" "state_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket     = aws_s3_bucket.state.id
  policy     = data.aws_iam_policy_document.state_bucket.json
  depends_on = [aws_s3_bucket_public_access_block.state]
}

################################################################################
# Account-wide guards
################################################################################

# No bucket of the account can be made public, whatever its own settings or policy say: the
# environments' buckets block it too, and no deploy role may change this (it is not granted
# s3:PutAccountPublicAccessBlock).
resource "aws_s3_account_public_access_block" "this" {
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

################################################################################
# GitHub OIDC identity provider
################################################################################

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = local.oidc_url
  client_id_list = ["sts.amazonaws.com"]
  # AWS trusts GitHub's certificate authority itself; the thumbprints are kept for older tooling.
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 0 : 1
  url   = local.oidc_url
}

################################################################################
# Permissions boundary per environment
################################################################################

# The union of what the stack's roles (Glue, training, Lambda, state machine, scheduler) need,
# scoped to the environment. Mirrors infra/stack: lake bucket <project>-<env>-lake-<account>, key
# tagged Environment = <env>, names <project>-<env>-*. A role created by the deploy role can never
# exceed this, whatever policy it is given.
data "aws_iam_policy_document" "boundary" {
  for_each = toset(var.environments)

  #checkov:skip=CKV_AWS_111:A permissions boundary grants nothing; the "*" statements list only actions without a resource type (log delivery, X-Ray, ECR login, metrics with a namespace condition).
  #checkov:skip=CKV_AWS_356:A permissions boundary grants nothing; the "*" statements list only actions without a resource type (log delivery, X-Ray, ECR login, metrics with a namespace condition).

  statement {
    sid       = "LakeBucket"
    effect    = "Allow"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = ["arn:${local.partition}:s3:::${var.project}-${each.key}-lake-${local.account_id}"]
  }

  statement {
    sid       = "LakeObjects"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["arn:${local.partition}:s3:::${var.project}-${each.key}-lake-${local.account_id}/*"]
  }

  statement {
    sid       = "EnvironmentKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = ["arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Environment"
      values   = [each.key]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Project"
      values   = [var.project]
    }
  }

  # Grants on the key only for the AWS services that use it on a role's behalf (SageMaker's
  # volumes, Step Functions), never to an arbitrary principal.
  statement {
    sid       = "EnvironmentKeyGrantsForServices"
    effect    = "Allow"
    actions   = ["kms:CreateGrant"]
    resources = ["arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Environment"
      values   = [each.key]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Project"
      values   = [var.project]
    }

    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }

  statement {
    sid    = "GlueJobsAndCatalog"
    effect = "Allow"
    actions = [
      "glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun",
      "glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions",
    ]
    resources = local.arn[each.key].glue
  }

  statement {
    sid    = "SageMakerTraining"
    effect = "Allow"
    actions = [
      "sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob",
      "sagemaker:AddTags", "sagemaker:ListTags",
    ]
    resources = ["arn:${local.partition}:sagemaker:${local.region}:${local.account_id}:training-job/${var.project}-${each.key}-*"]
  }

  statement {
    sid       = "SageMakerSyncEventsRule"
    effect    = "Allow"
    actions   = ["events:PutTargets", "events:PutRule", "events:DescribeRule"]
    resources = ["arn:${local.partition}:events:${local.region}:${local.account_id}:rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule"]
  }

  statement {
    sid       = "InvokePipelineFunction"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = flatten([for f in local.arn[each.key].lambda : [f, "${f}:*"]])
  }

  statement {
    sid       = "StartPipeline"
    effect    = "Allow"
    actions   = ["states:StartExecution"]
    resources = [local.arn[each.key].states[0]]
  }

  statement {
    sid       = "PublishFailures"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = local.arn[each.key].sns
  }

  statement {
    sid       = "PullTrainingImage"
    effect    = "Allow"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = local.arn[each.key].ecr
  }

  statement {
    sid     = "WriteLogs"
    effect  = "Allow"
    actions = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents", "logs:AssociateKmsKey"]
    resources = flatten([
      for group in [
        "/aws-glue/jobs/${var.project}-${each.key}", "/aws-glue/jobs/output", "/aws-glue/jobs/error", "/aws-glue/jobs/logs-v2",
        "/aws/sagemaker/TrainingJobs", "/aws/lambda/${var.project}-${each.key}-*",
        ] : [
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${group}",
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${group}:*",
      ]
    ])
  }

  # The state machine may pass only the training role, and only to SageMaker.
  statement {
    sid       = "PassTrainingRoleToSageMaker"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = local.arn[each.key].iam_role

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["sagemaker.amazonaws.com"]
    }
  }

  statement {
    sid       = "PublishMetrics"
    effect    = "Allow"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"] # PutMetricData has no resource type; the namespace condition scopes it.

    condition {
      test     = "StringLike"
      variable = "cloudwatch:namespace"
      values   = ["Glue", "/aws/sagemaker/*", "${var.project}/${each.key}"]
    }
  }

  statement {
    sid    = "ActionsWithoutResourceType"
    effect = "Allow"
    actions = [
      "ecr:GetAuthorizationToken",
      "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
      "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    ]
    resources = ["*"] # These actions have no resource type.
  }

  # Belt and braces: even a policy that allowed it could not make a stack role write IAM.
  statement {
    sid       = "DenyIamWrites"
    effect    = "Deny"
    actions   = ["iam:Create*", "iam:Put*", "iam:Attach*", "iam:Update*", "iam:Delete*", "iam:Detach*", "iam:Add*", "iam:Remove*", "iam:Set*"]
    resources = ["*"]
  }
}

resource "aws_iam_policy" "boundary" {
  for_each = toset(var.environments)

  name        = local.boundary_name[each.key]
  description = "Permissions boundary of every role the ${each.key} stack creates (the most those roles may ever do)"
  policy      = data.aws_iam_policy_document.boundary[each.key].json
}

################################################################################
# Deploy role per environment, trusted only from that GitHub environment
################################################################################

data "aws_iam_policy_document" "deploy_trust" {
  for_each = local.deploy_subjects

  statement {
    sid     = "GitHubEnvironment${title(each.key)}"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = each.value
    }
  }
}

resource "aws_iam_role" "deploy" {
  for_each = local.deploy_subjects

  # Not <project>-<env>-*: the role must not fall inside the names it may manage.
  name                 = "${var.project}-deploy-${each.key}"
  description          = "GitHub Actions deploys ${each.key} (environment ${each.key}, deploy workflows on ${var.deploy_branch} only)"
  assume_role_policy   = data.aws_iam_policy_document.deploy_trust[each.key].json
  max_session_duration = var.max_session_duration
}

data "aws_iam_policy_document" "deploy" {
  for_each = local.deploy_subjects

  #checkov:skip=CKV_AWS_111:Only actions without a resource type are on "*" (log delivery, security configurations, ECR login, key creation with a tag condition); every other statement is limited to <project>-<env>-* names.
  #checkov:skip=CKV_AWS_356:Only actions without a resource type are on "*" (log delivery, security configurations, ECR login, key creation with a tag condition); every other statement is limited to <project>-<env>-* names.
  #checkov:skip=CKV_AWS_109:Deploying creates the environment's roles and key policies; limited to <project>-<env>-* roles and keys tagged with the environment.
  #checkov:skip=CKV_AWS_110:Deploying creates the environment's roles; iam:PassRole is limited to <project>-<env>-* roles and to the services that use them.

  statement {
    sid     = "StateObjects"
    effect  = "Allow"
    actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [
      "${aws_s3_bucket.state.arn}/${local.state_prefix}/${each.key}/*",
    ]
  }

  # The backend lists the bucket (workspaces under env:/); key names are not secret. As in the
  # Terraform S3 backend documentation: ListBucket on the bucket, objects by key.
  statement {
    sid       = "StateBucketList"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
  }

  statement {
    sid       = "StateKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [aws_kms_key.state.arn]
  }

  dynamic "statement" {
    for_each = local.scoped_services
    content {
      sid       = "Manage${replace(title(replace(statement.value, "_", " ")), " ", "")}"
      effect    = "Allow"
      actions   = distinct(concat(lookup(local.read_actions, statement.value, []), lookup(local.write_actions, statement.value, [])))
      resources = local.arn[each.key][statement.value]
    }
  }

  # Objects: only the content-addressed artifacts the deploy uploads (and Lambda reads on its
  # behalf); the lake's data zones are the pipeline roles' business.
  statement {
    sid       = "ArtifactObjects"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["arn:${local.partition}:s3:::${var.project}-${each.key}-*/artifacts/*"]
  }

  dynamic "statement" {
    for_each = local.disposable[each.key] ? ["s3", "ecr"] : []
    content {
      sid       = "DestroyDisposable${upper(statement.value)}"
      effect    = "Allow"
      actions   = local.destroy_actions[statement.value]
      resources = local.arn[each.key][statement.value]
    }
  }

  dynamic "statement" {
    for_each = local.disposable[each.key] ? [] : [1]
    content {
      sid       = "DenyDestroyingProtectedData"
      effect    = "Deny"
      actions   = concat(local.destroy_actions.s3, local.destroy_actions.ecr, ["s3:PutBucketObjectLockConfiguration"])
      resources = local.arn[each.key].s3
    }
  }

  dynamic "statement" {
    for_each = local.disposable[each.key] ? [] : [1]
    content {
      sid       = "DenyDeletingProtectedKeys"
      effect    = "Deny"
      actions   = local.destroy_actions.kms_key
      resources = ["*"]
    }
  }

  # Log delivery and the account's log resource policies have no resource type, so one
  # environment could rewrite another's. Step Functions makes these calls with the deploy role's
  # credentials when it creates or updates a state machine's logging (aws:ViaAWSService true);
  # a direct call is denied.
  statement {
    sid       = "DenyDirectAccountWideLogChanges"
    effect    = "Deny"
    actions   = ["logs:CreateLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:PutResourcePolicy", "logs:DeleteResourcePolicy"]
    resources = ["*"]

    condition {
      test     = "Bool"
      variable = "aws:ViaAWSService"
      values   = ["false"]
    }
  }

  # Keys of this project and environment only: both tags, on the key itself.
  statement {
    sid       = "ManageEnvironmentKey"
    effect    = "Allow"
    actions   = distinct(concat(local.read_actions.kms_key, local.write_actions.kms_key, local.disposable[each.key] ? local.destroy_actions.kms_key : []))
    resources = ["arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Environment"
      values   = [each.key]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Project"
      values   = [var.project]
    }
  }

  statement {
    sid       = "CreateEnvironmentKey"
    effect    = "Allow"
    actions   = ["kms:CreateKey", "kms:TagResource"]
    resources = ["*"] # CreateKey has no resource type; the request must tag the key with the environment.

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/Environment"
      values   = [each.key]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/Project"
      values   = [var.project]
    }
  }

  # TagResource above must allow tagging a key being created (it has no tags yet), which on its
  # own would let this role re-tag another environment's key (or the state key) as its own and
  # then manage it. A key that already carries an Environment tag keeps it: no tagging of keys
  # of another environment, and no change to the Environment or Project tag of any key.
  statement {
    sid       = "DenyRetaggingOtherKeys"
    effect    = "Deny"
    actions   = ["kms:TagResource", "kms:UntagResource"]
    resources = ["*"]

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/Environment"
      values   = ["false"]
    }

    condition {
      test     = "StringNotEquals"
      variable = "aws:ResourceTag/Environment"
      values   = [each.key]
    }
  }

  statement {
    sid       = "DenyChangingKeyOwnershipTags"
    effect    = "Deny"
    actions   = ["kms:TagResource", "kms:UntagResource"]
    resources = ["*"]

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/Environment"
      values   = ["false"]
    }

    condition {
      test     = "ForAnyValue:StringEquals"
      variable = "aws:TagKeys"
      values   = ["Environment", "Project"]
    }
  }

  # Writing a stack role's inline policy only while the role carries the environment's boundary:
  # a stack role can never do more than the boundary.
  statement {
    sid       = "WriteBoundedRoles"
    effect    = "Allow"
    actions   = local.bounded_role_actions
    resources = local.arn[each.key].iam_role

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.boundary_arn[each.key]]
    }
  }

  statement {
    sid       = "DenyRoleWritesWithoutBoundary"
    effect    = "Deny"
    actions   = local.boundary_guarded_actions
    resources = ["*"]

    condition {
      test     = "StringNotEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.boundary_arn[each.key]]
    }
  }

  statement {
    sid       = "DenyCreatingOrRetrustingRoles"
    effect    = "Deny"
    actions   = ["iam:CreateRole", "iam:UpdateAssumeRolePolicy", "iam:DeleteRole", "iam:CreateServiceLinkedRole", "iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile"]
    resources = ["*"]
  }

  statement {
    sid       = "DenyRemovingBoundary"
    effect    = "Deny"
    actions   = ["iam:DeleteRolePermissionsBoundary"]
    resources = ["*"]
  }

  statement {
    sid       = "DenyChangingBoundaryPolicy"
    effect    = "Deny"
    actions   = local.boundary_policy_write_actions
    resources = [local.boundary_arn[each.key]]
  }

  statement {
    sid       = "PassEnvironmentRoles"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = local.arn[each.key].iam_role

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["glue.amazonaws.com", "lambda.amazonaws.com", "states.amazonaws.com", "scheduler.amazonaws.com"]
    }
  }

  statement {
    sid       = "UnscopedActions"
    effect    = "Allow"
    actions   = concat(local.unscoped_read_actions, local.unscoped_write_actions)
    resources = ["*"] # These actions have no resource type.
  }
}

resource "aws_iam_role_policy" "deploy" {
  for_each = local.deploy_subjects

  name   = "deploy-${each.key}"
  role   = aws_iam_role.deploy[each.key].id
  policy = data.aws_iam_policy_document.deploy[each.key].json
}

################################################################################
# Read-only plan role per environment
################################################################################

data "aws_iam_policy_document" "plan_trust" {
  for_each = local.plan_subjects

  statement {
    sid     = "GitHubMainBranchWorkflows"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = each.value.main
    }
  }

  dynamic "statement" {
    for_each = length(each.value.pull_request) > 0 ? [each.value.pull_request] : []
    content {
      sid     = "GitHubPullRequests"
      effect  = "Allow"
      actions = ["sts:AssumeRoleWithWebIdentity"]

      principals {
        type        = "Federated"
        identifiers = [local.oidc_provider_arn]
      }

      condition {
        test     = "StringEquals"
        variable = "${local.oidc_host}:aud"
        values   = ["sts.amazonaws.com"]
      }

      # The pull request number is the only wildcard: refs/pull/<n>/merge of this repository.
      condition {
        test     = "StringLike"
        variable = "${local.oidc_host}:sub"
        values   = statement.value
      }
    }
  }
}

resource "aws_iam_role" "plan" {
  for_each = local.plan_subjects

  name                 = "${var.project}-plan-${each.key}"
  description          = "GitHub Actions: terraform plan of ${each.key}, read-only"
  assume_role_policy   = data.aws_iam_policy_document.plan_trust[each.key].json
  max_session_duration = var.max_session_duration
}

data "aws_iam_policy_document" "plan" {
  for_each = local.plan_subjects

  # Read-only: plans run with -lock=false (scripts/tf.sh TF_LOCK=false), so not even the state
  # lock file is written.
  #checkov:skip=CKV_AWS_356:The "*" statement lists read actions without a resource type only.

  statement {
    sid       = "ReadState"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.state.arn}/${local.state_prefix}/${each.key}/*"]
  }

  # The backend lists the bucket (workspaces under env:/); key names are not secret. As in the
  # Terraform S3 backend documentation: ListBucket on the bucket, objects by key.
  statement {
    sid       = "StateBucketList"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
  }

  statement {
    sid       = "StateKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:DescribeKey"]
    resources = [aws_kms_key.state.arn]
  }

  dynamic "statement" {
    for_each = [for s in local.scoped_services : s if length(lookup(local.read_actions, s, [])) > 0]
    content {
      sid       = "Read${replace(title(replace(statement.value, "_", " ")), " ", "")}"
      effect    = "Allow"
      actions   = local.read_actions[statement.value]
      resources = local.arn[each.key][statement.value]
    }
  }

  statement {
    sid       = "ReadEnvironmentKeys"
    effect    = "Allow"
    actions   = local.read_actions.kms_key
    resources = ["arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Project"
      values   = [var.project]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Environment"
      values   = [each.key]
    }
  }

  statement {
    sid       = "UnscopedReads"
    effect    = "Allow"
    actions   = local.unscoped_read_actions
    resources = ["*"] # These actions have no resource type.
  }
}

resource "aws_iam_role_policy" "plan" {
  for_each = local.plan_subjects

  name   = "plan-read-only-${each.key}"
  role   = aws_iam_role.plan[each.key].id
  policy = data.aws_iam_policy_document.plan[each.key].json
}
