# The stack's roles and the Access Analyzer (stack_roles.tf), with a mocked AWS provider: each role
# is trusted by exactly one service, never by an account or a federated identity, and carries its
# own environment's boundary. 111122223333 is the placeholder account id of the AWS documentation.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  aws_region   = "us-east-1"
  github_owner = "octo-org"
  github_repo  = "ipeacast"
}

run "stack_roles_trust_exactly_one_service" {
  command = apply

  # The names infra/stack looks up (infra/stack/main.tf, local.names), per environment.
  assert {
    condition = { for k, role in aws_iam_role.stack : k => role.name } == merge([
      for env in ["dev", "prod"] : {
        for key in ["glue", "pipeline", "sfn", "scheduler", "training"] : "${env}/${key}" => "ipeacast-${env}-${key}"
      }
    ]...)
    error_message = "Bootstrap must create exactly the stack's five roles per environment, named ipeacast-<env>-glue|pipeline|sfn|scheduler|training."
  }

  assert {
    condition = toset(keys(output.stack_role_trust_statements)) == toset(keys(aws_iam_role.stack)) && alltrue([
      for k, statements in output.stack_role_trust_statements : length(statements) == 1 && alltrue([
        for s in statements : s.effect == "Allow" && s.actions == toset(["sts:AssumeRole"]) && length(coalesce(s.not_principals, [])) == 0 && length(coalesce(s.not_actions, [])) == 0
      ])
    ])
    error_message = "Each stack role's trust policy must be one Allow of sts:AssumeRole, without NotPrincipal or NotAction."
  }

  # Exactly one principal, of type Service, from the allowed set: no AWS account, role or user,
  # no federated identity, no "*".
  assert {
    condition = alltrue(flatten([
      for k, statements in output.stack_role_trust_statements : [
        for s in statements : length(s.principals) == 1 && alltrue([
          for p in s.principals : p.type == "Service" && length(p.identifiers) == 1 && length(setsubtract(p.identifiers, [
            "glue.amazonaws.com", "lambda.amazonaws.com", "states.amazonaws.com", "scheduler.amazonaws.com", "sagemaker.amazonaws.com",
          ])) == 0
        ])
      ]
    ]))
    error_message = "A stack role must trust exactly one Service principal among glue, lambda, states, scheduler and sagemaker, and no AWS or Federated principal."
  }

  assert {
    condition = alltrue([
      for k, statements in output.stack_role_trust_statements : one(one(statements).principals).identifiers == toset([{
        glue      = "glue.amazonaws.com"
        pipeline  = "lambda.amazonaws.com"
        sfn       = "states.amazonaws.com"
        scheduler = "scheduler.amazonaws.com"
        training  = "sagemaker.amazonaws.com"
      }[split("/", k)[1]]])
    ])
    error_message = "Each role must be trusted by its own service (glue: Glue, pipeline: Lambda, sfn: Step Functions, scheduler: EventBridge Scheduler, training: SageMaker)."
  }

  # The confused-deputy guard the modules had: aws:SourceAccount = this account (the Lambda
  # execution role had none).
  assert {
    condition = alltrue([
      for k, statements in output.stack_role_trust_statements : jsonencode([
        for c in coalesce(one(statements).condition, []) : "${c.test} ${c.variable} ${jsonencode(c.values)}"
      ]) == (endswith(k, "/pipeline") ? "[]" : jsonencode(["StringEquals aws:SourceAccount [\"111122223333\"]"]))
    ])
    error_message = "Every stack role but the Lambda's must require aws:SourceAccount = this account."
  }
}

run "stack_roles_carry_their_environments_boundary" {
  command = apply

  assert {
    condition = alltrue([
      for k, role in aws_iam_role.stack : role.permissions_boundary == "arn:aws:iam::111122223333:policy/${aws_iam_policy.boundary[split("/", k)[0]].name}"
    ]) && aws_iam_role.stack["dev/glue"].permissions_boundary == "arn:aws:iam::111122223333:policy/ipeacast-dev-boundary" && aws_iam_role.stack["prod/glue"].permissions_boundary == "arn:aws:iam::111122223333:policy/ipeacast-prod-boundary"
    error_message = "Every stack role must carry its own environment's permissions boundary (ipeacast-<env>-boundary)."
  }

  assert {
    condition     = alltrue([for k, role in aws_iam_role.stack : role.tags.Environment == split("/", k)[0]])
    error_message = "Every stack role must be tagged with its environment."
  }

  assert {
    condition = alltrue([
      for env in ["dev", "prod"] : output.stack_role_arns[env] == { for key in ["glue", "pipeline", "sfn", "scheduler", "training"] : key => aws_iam_role.stack["${env}/${key}"].arn }
    ])
    error_message = "stack_role_arns must list the five roles of each environment."
  }
}

run "access_analyzer_watches_the_account" {
  command = apply

  assert {
    condition     = aws_accessanalyzer_analyzer.account.type == "ACCOUNT" && aws_accessanalyzer_analyzer.account.analyzer_name == "ipeacast-account"
    error_message = "The account must have an IAM Access Analyzer of type ACCOUNT named ipeacast-account."
  }
}
