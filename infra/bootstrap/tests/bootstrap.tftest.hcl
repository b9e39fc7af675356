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
    condition     = length(output.iam_policy_statements) == 8
    error_message = "Expected 8 policy documents (state key, state bucket, plan trust, plan, and trust + permissions per environment)."
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

  assert {
    condition = alltrue(flatten([
      for s in output.iam_policy_statements["plan"] : [
        for a in s.actions : can(regex("^[a-z0-9-]+:(Get|List|Describe)", a)) || contains(["s3:PutObject", "s3:DeleteObject", "kms:Decrypt", "kms:GenerateDataKey"], a)
      ]
    ]))
    error_message = "The plan role may only read (Get/List/Describe), plus take the state lock."
  }

  assert {
    condition = alltrue([
      for s in output.iam_policy_statements["plan"] :
      alltrue([for r in s.resources : endswith(r, ".tflock")]) if contains(s.actions, "s3:PutObject") || contains(s.actions, "s3:DeleteObject")
    ])
    error_message = "The plan role may write only state lock files."
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
    condition = [
      for c in one([for s in output.iam_policy_statements["deploy.dev"] : s if s.sid == "ManageEnvironmentKey"]).condition :
      "${c.test} ${c.variable} ${jsonencode(c.values)}"
    ] == ["StringEquals aws:ResourceTag/Environment [\"dev\"]"]
    error_message = "The dev deploy role may manage only keys tagged Environment=dev."
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
