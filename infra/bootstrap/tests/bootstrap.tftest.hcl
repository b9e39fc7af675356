# The bootstrap root with a mocked AWS provider: who may assume which role, and what they may do.
# 111122223333 is the placeholder account id of the AWS documentation.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333" }
  }

  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }

  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }

  mock_resource "aws_iam_openid_connect_provider" {
    defaults = { arn = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com" }
  }

  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:us-east-1:111122223333:key/mocked" }
  }

  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::mocked" }
  }

  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111122223333:role/mocked" }
  }
}

variables {
  aws_region   = "us-east-1"
  github_owner = "octo-org"
  github_repo  = "ipeacast"
}

run "deploy_roles_trust_only_their_github_environment" {
  command = apply

  assert {
    condition     = toset(keys(output.deploy_role_arns)) == toset(["dev", "prod"])
    error_message = "There must be one deploy role per environment."
  }

  assert {
    condition = alltrue([
      for env in ["dev", "prod"] : alltrue([
        length(output.iam_policy_statements["deploy_trust.${env}"]) == 1,
        one(output.iam_policy_statements["deploy_trust.${env}"]).actions == toset(["sts:AssumeRoleWithWebIdentity"]),
        one(one(output.iam_policy_statements["deploy_trust.${env}"]).principals).identifiers == toset(["arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"]),
        length(one(output.iam_policy_statements["deploy_trust.${env}"]).condition) == 2,
      ])
    ])
    error_message = "Each deploy role must be assumable only through the GitHub OIDC provider, with exactly two conditions."
  }

  assert {
    condition = alltrue([
      for env in ["dev", "prod"] : {
        for c in one(output.iam_policy_statements["deploy_trust.${env}"]).condition : c.variable => "${c.test} ${jsonencode(c.values)}"
        } == {
        "token.actions.githubusercontent.com:aud" = "StringEquals [\"sts.amazonaws.com\"]"
        "token.actions.githubusercontent.com:sub" = "StringEquals [\"repo:octo-org/ipeacast:environment:${env}\"]"
      }
    ])
    error_message = "Deploy trust must be exactly aud = sts.amazonaws.com and sub = repo:<owner>/<repo>:environment:<env> (StringEquals, no wildcard)."
  }

  assert {
    condition = {
      for c in one(output.iam_policy_statements["plan_trust"]).condition : c.variable => "${c.test} ${jsonencode(c.values)}"
      } == {
      "token.actions.githubusercontent.com:aud" = "StringEquals [\"sts.amazonaws.com\"]"
      "token.actions.githubusercontent.com:sub" = "StringEquals [\"repo:octo-org/ipeacast:pull_request\",\"repo:octo-org/ipeacast:ref:refs/heads/main\"]"
    }
    error_message = "The plan role must trust exactly this repository's pull requests and its main branch (scheduled drift check)."
  }
}

run "no_policy_grants_a_wildcard_action" {
  command = apply

  assert {
    condition     = length(output.iam_policy_statements) == 10
    error_message = "Expected 10 policy documents (state key, state bucket, plan trust, plan, and trust + permissions + boundary per environment)."
  }

  assert {
    condition = alltrue(flatten([
      for doc, statements in output.iam_policy_statements : [
        for s in statements : [for a in coalesce(s.actions, []) : !strcontains(a, "*")] if s.effect == "Allow"
      ]
    ]))
    error_message = "An Allow statement grants an action containing '*'."
  }

  assert {
    condition = alltrue(flatten([
      for doc, statements in output.iam_policy_statements : [for s in statements : length(coalesce(s.not_actions, [])) == 0]
    ]))
    error_message = "No statement may use NotAction."
  }
}

run "plan_role_is_read_only" {
  command = apply

  # Plans run with -lock=false: the plan role writes nothing, not even the state lock file.
  assert {
    condition = alltrue(flatten([
      for s in output.iam_policy_statements["plan"] : [
        for a in s.actions : can(regex("^[a-z0-9-]+:(Get|List|Describe)", a)) || a == "kms:Decrypt"
      ]
    ]))
    error_message = "The plan role may only read (Get/List/Describe, kms:Decrypt)."
  }

  assert {
    condition = alltrue(flatten([
      for s in output.iam_policy_statements["plan"] : [
        for a in s.actions : !can(regex("^s3:(Put|Delete)", a))
      ]
    ]))
    error_message = "The plan role may not put or delete any S3 object (no state lock either)."
  }
}

run "deploy_role_is_limited_to_its_environment" {
  command = apply

  assert {
    condition = alltrue(flatten([
      for s in output.iam_policy_statements["deploy.dev"] : [
        for r in s.resources : r == "*" || strcontains(r, "ipeacast-dev") || strcontains(r, "ipeacast_dev") || strcontains(r, "/ipeacast/dev/") || endswith(r, ":catalog") || r == "arn:aws:kms:us-east-1:111122223333:key/mocked" || r == "arn:aws:s3:::mocked" || r == "arn:aws:kms:us-east-1:111122223333:key/*"
      ]
    ]))
    error_message = "Every resource of the dev deploy role must belong to dev (or be the state bucket/key)."
  }

  assert {
    condition = alltrue(flatten([
      for s in output.iam_policy_statements["deploy.dev"] : [for r in s.resources : !strcontains(r, "prod")]
    ]))
    error_message = "The dev deploy role must not reach prod resources."
  }

  assert {
    condition = toset([
      for c in one([for s in output.iam_policy_statements["deploy.dev"] : s if s.sid == "ManageEnvironmentKey"]).condition :
      "${c.test} ${c.variable} ${jsonencode(c.values)}"
    ]) == toset(["StringEquals aws:ResourceTag/Environment [\"dev\"]", "StringEquals aws:ResourceTag/Project [\"ipeacast\"]"])
    error_message = "The dev deploy role may manage only keys tagged Environment=dev and Project=ipeacast."
  }
}

# Issue 11, item 1: TagResource must be allowed for a key being created (no tags yet), but a dev
# role must never re-tag a prod key or the state key as dev, nor change any key's ownership tags.
run "deploy_role_cannot_take_another_environments_key" {
  command = apply

  assert {
    condition = alltrue([
      for env in ["dev", "prod"] : toset([
        for c in one([for s in output.iam_policy_statements["deploy.${env}"] : s if s.sid == "DenyRetaggingOtherKeys"]).condition :
        "${c.test} ${c.variable} ${jsonencode(c.values)}"
      ]) == toset(["Null aws:ResourceTag/Environment [\"false\"]", "StringNotEquals aws:ResourceTag/Environment [\"${env}\"]"])
    ])
    error_message = "Tagging a key that belongs to another environment (or to bootstrap) must be denied."
  }

  assert {
    condition = alltrue([
      for env in ["dev", "prod"] : alltrue([
        for s in output.iam_policy_statements["deploy.${env}"] : s.effect == "Deny" && s.resources == toset(["*"]) && s.actions == toset(["kms:TagResource", "kms:UntagResource"])
        if contains(["DenyRetaggingOtherKeys", "DenyChangingKeyOwnershipTags"], s.sid)
      ])
    ])
    error_message = "The key tag guards must deny TagResource and UntagResource on every key."
  }

  assert {
    condition = alltrue([
      for env in ["dev", "prod"] : toset([
        for c in one([for s in output.iam_policy_statements["deploy.${env}"] : s if s.sid == "DenyChangingKeyOwnershipTags"]).condition :
        "${c.test} ${c.variable} ${jsonencode(c.values)}"
      ]) == toset(["Null aws:ResourceTag/Environment [\"false\"]", "ForAnyValue:StringEquals aws:TagKeys [\"Environment\",\"Project\"]"])
    ])
    error_message = "No deploy role may change the Environment or Project tag of an existing key."
  }

  assert {
    condition = alltrue([
      for env in ["dev", "prod"] : toset([
        for c in one([for s in output.iam_policy_statements["deploy.${env}"] : s if s.sid == "CreateEnvironmentKey"]).condition :
        "${c.test} ${c.variable} ${jsonencode(c.values)}"
      ]) == toset(["StringEquals aws:RequestTag/Environment [\"${env}\"]", "StringEquals aws:RequestTag/Project [\"ipeacast\"]"])
    ])
    error_message = "A key may be created only tagged with the role's environment and the project."
  }

  assert {
    condition = alltrue([
      for env in ["dev", "prod"] : toset([
        for c in one([for s in output.iam_policy_statements["boundary.${env}"] : s if s.sid == "EnvironmentKey"]).condition :
        "${c.test} ${c.variable} ${jsonencode(c.values)}"
      ]) == toset(["StringEquals aws:ResourceTag/Environment [\"${env}\"]", "StringEquals aws:ResourceTag/Project [\"ipeacast\"]"])
    ])
    error_message = "The boundary must allow only keys of its environment and project."
  }
}

run "state_bucket_is_encrypted_versioned_and_private" {
  command = apply

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.state.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
    error_message = "The state bucket must use SSE-KMS."
  }

  assert {
    condition     = one(aws_s3_bucket_versioning.state.versioning_configuration).status == "Enabled"
    error_message = "The state bucket must be versioned."
  }

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.state.block_public_acls,
      aws_s3_bucket_public_access_block.state.block_public_policy,
      aws_s3_bucket_public_access_block.state.ignore_public_acls,
      aws_s3_bucket_public_access_block.state.restrict_public_buckets,
    ])
    error_message = "The state bucket must block all public access."
  }

  assert {
    condition     = startswith(output.state_bucket, "ipeacast-tfstate-111122223333-us-east-1")
    error_message = "The state bucket name is derived from the caller's account and region, never typed in."
  }
}

run "deploy_roles_create_only_bounded_roles" {
  command = apply

  # Every Allow statement of a deploy role that can create a role or write its permissions carries
  # exactly the condition iam:PermissionsBoundary = that environment's boundary.
  assert {
    condition = alltrue(flatten([
      for env in ["dev", "prod"] : [
        for s in output.iam_policy_statements["deploy.${env}"] : [
          for c in s.condition : "${c.test} ${c.variable} ${jsonencode(c.values)}"
        ] == ["StringEquals iam:PermissionsBoundary [\"arn:aws:iam::111122223333:policy/ipeacast-${env}-boundary\"]"]
        if s.effect == "Allow" && length(setintersection(s.actions, ["iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary", "iam:UpdateAssumeRolePolicy"])) > 0
      ]
    ]))
    error_message = "A deploy role may create roles or write their permissions only with iam:PermissionsBoundary = its environment's boundary."
  }

  assert {
    condition = alltrue([
      for env in ["dev", "prod"] : one([for s in output.iam_policy_statements["deploy.${env}"] : s if s.sid == "WriteBoundedRoles"]).actions == toset(["iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"])
    ])
    error_message = "The deploy role must be able to create bounded roles and write their inline policies."
  }

  assert {
    condition = alltrue(flatten([
      for env in ["dev", "prod"] : [
        for s in output.iam_policy_statements["deploy.${env}"] : !contains(s.actions, "iam:UpdateAssumeRolePolicy") if s.effect == "Allow"
      ]
    ]))
    error_message = "UpdateAssumeRolePolicy has no boundary condition; the deploy role must not have it."
  }

  assert {
    condition = alltrue([
      for env in ["dev", "prod"] : alltrue([
        for s in output.iam_policy_statements["deploy.${env}"] : s.effect == "Deny" && s.resources == toset(["*"]) && [
          for c in s.condition : "${c.test} ${c.variable} ${jsonencode(c.values)}"
        ] == ["StringNotEquals iam:PermissionsBoundary [\"arn:aws:iam::111122223333:policy/ipeacast-${env}-boundary\"]"]
        if s.sid == "DenyRoleWritesWithoutBoundary"
      ]) && length([for s in output.iam_policy_statements["deploy.${env}"] : s if s.sid == "DenyRoleWritesWithoutBoundary"]) == 1
    ])
    error_message = "Each deploy role must explicitly deny role writes without its environment's boundary."
  }

  assert {
    condition = alltrue([
      for env in ["dev", "prod"] : one([
        for s in output.iam_policy_statements["deploy.${env}"] : s if s.effect == "Deny" && contains(s.actions, "iam:DeleteRolePermissionsBoundary")
      ]).resources == toset(["*"])
    ])
    error_message = "Each deploy role must explicitly deny removing a permissions boundary."
  }

  assert {
    condition = alltrue([
      for env in ["dev", "prod"] : alltrue([
        for s in [for s in output.iam_policy_statements["deploy.${env}"] : s if s.sid == "DenyChangingBoundaryPolicy"] :
        s.effect == "Deny" && s.resources == toset(["arn:aws:iam::111122223333:policy/ipeacast-${env}-boundary"]) &&
        length(setsubtract(["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"], s.actions)) == 0
      ]) && length([for s in output.iam_policy_statements["deploy.${env}"] : s if s.sid == "DenyChangingBoundaryPolicy"]) == 1
    ])
    error_message = "Each deploy role must explicitly deny changing or deleting its boundary policy."
  }
}

run "boundary_caps_every_stack_role" {
  command = apply

  assert {
    condition     = aws_iam_policy.boundary["dev"].name == "ipeacast-dev-boundary" && aws_iam_policy.boundary["prod"].name == "ipeacast-prod-boundary"
    error_message = "The boundary must be named <project>-<env>-boundary: the environment roots derive its ARN from that name."
  }

  # The only IAM action a boundary allows is PassRole of environment roles to SageMaker.
  assert {
    condition = alltrue([
      for env in ["dev", "prod"] : [
        for s in output.iam_policy_statements["boundary.${env}"] : s.sid if s.effect == "Allow" && anytrue([for a in s.actions : startswith(a, "iam:")])
        ] == ["PassTrainingRoleToSageMaker"] && one([for s in output.iam_policy_statements["boundary.${env}"] : s if s.sid == "PassTrainingRoleToSageMaker"]).actions == toset(["iam:PassRole"]) && [
        for c in one([for s in output.iam_policy_statements["boundary.${env}"] : s if s.sid == "PassTrainingRoleToSageMaker"]).condition : "${c.test} ${c.variable} ${jsonencode(c.values)}"
      ] == ["StringEquals iam:PassedToService [\"sagemaker.amazonaws.com\"]"]
    ])
    error_message = "A boundary may allow no IAM action but iam:PassRole to SageMaker."
  }

  assert {
    condition = alltrue([
      for env in ["dev", "prod"] : length(setsubtract(
        ["iam:Create*", "iam:Put*", "iam:Attach*", "iam:Update*"],
        one([for s in output.iam_policy_statements["boundary.${env}"] : s if s.sid == "DenyIamWrites"]).actions
      )) == 0 && one([for s in output.iam_policy_statements["boundary.${env}"] : s if s.sid == "DenyIamWrites"]).effect == "Deny"
    ])
    error_message = "A boundary must explicitly deny iam:Create*, Put*, Attach* and Update*."
  }

  # The same list infra/stack/tests asserts the stack's role policies stay within.
  assert {
    condition = alltrue([
      for env in ["dev", "prod"] : length(setsubtract(
        jsondecode(file("../stack/tests/fixtures/stack_role_actions.json")).actions,
        flatten([for s in output.iam_policy_statements["boundary.${env}"] : s.actions if s.effect == "Allow"])
      )) == 0
    ])
    error_message = "The boundary must allow every action the stack's roles use (infra/stack/tests/fixtures/stack_role_actions.json)."
  }

  assert {
    condition = alltrue([
      for env in ["dev", "prod"] : toset(flatten([
        for s in output.iam_policy_statements["boundary.${env}"] : [for r in s.resources : r if startswith(r, "arn:aws:s3:::")]
      ])) == toset(["arn:aws:s3:::ipeacast-${env}-lake-111122223333", "arn:aws:s3:::ipeacast-${env}-lake-111122223333/*"])
    ])
    error_message = "A boundary may reach S3 only in its environment's lake bucket."
  }

  # IAM refuses managed policies over 6,144 characters (whitespace excluded). The statements as
  # Terraform holds them (with empty fields and keys spelled out) are longer than the JSON IAM
  # receives, so this bound is conservative.
  assert {
    condition     = alltrue([for env in ["dev", "prod"] : length(replace(jsonencode(output.iam_policy_statements["boundary.${env}"]), " ", "")) < 6144])
    error_message = "The boundary policy would exceed the 6,144-character limit of a managed policy."
  }

  assert {
    condition = alltrue(flatten([
      for s in output.iam_policy_statements["boundary.dev"] : [for r in s.resources : !strcontains(r, "prod")]
    ]))
    error_message = "The dev boundary must not reach prod resources."
  }
}
