# The policy documents as AWS receives them, rendered offline by the real AWS provider (every
# managed resource and the caller identity are overridden: nothing is sent to AWS), checked
# against IAM's size limits, counted as IAM does (characters other than whitespace).

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "offline-test"
  secret_key                  = "offline-test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

variables {
  aws_region   = "us-east-1"
  github_owner = "octo-org"
  github_repo  = "ipeacast"
}

override_data {
  target = data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_resource {
  target = aws_kms_key.state
  values = { arn = "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000" }
}

override_resource {
  target = aws_s3_bucket.state
  values = { arn = "arn:aws:s3:::ipeacast-tfstate-111122223333-us-east-1", id = "ipeacast-tfstate-111122223333-us-east-1" }
}

override_resource {
  target = aws_iam_openid_connect_provider.github
  values = { arn = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com" }
}

override_resource {
  target = aws_iam_policy.boundary
  values = { arn = "arn:aws:iam::111122223333:policy/ipeacast-dev-boundary" }
}

override_resource {
  target = aws_iam_role.deploy
}

override_resource {
  target = aws_iam_role.plan
}

override_resource {
  target = aws_iam_role.stack
}

override_resource {
  target = aws_iam_role_policy.deploy
}

override_resource {
  target = aws_iam_role_policy.plan
}

override_resource {
  target = aws_kms_alias.state
}

override_resource {
  target = aws_s3_bucket_ownership_controls.state
}

override_resource {
  target = aws_s3_bucket_public_access_block.state
}

override_resource {
  target = aws_s3_bucket_versioning.state
}

override_resource {
  target = aws_s3_bucket_server_side_encryption_configuration.state
}

override_resource {
  target = aws_s3_bucket_lifecycle_configuration.state
}

override_resource {
  target = aws_s3_bucket_policy.state
}

override_resource {
  target = aws_s3_account_public_access_block.this
}

override_resource {
  target = aws_accessanalyzer_analyzer.account
}

run "policies_fit_iams_size_limits" {
  command = apply

  # A managed policy (the boundary): 6,144 characters.
  assert {
    condition     = alltrue([for env in ["dev", "prod"] : length(replace(data.aws_iam_policy_document.boundary[env].json, "/\\s/", "")) <= 6144])
    error_message = "A permissions boundary exceeds the 6,144-character limit of a managed policy: ${jsonencode({ for env in ["dev", "prod"] : env => length(replace(data.aws_iam_policy_document.boundary[env].json, "/\\s/", "")) })}"
  }

  # Inline policies of a role: 10,240 characters together (each role has one).
  assert {
    condition = alltrue(flatten([
      for env in ["dev", "prod"] : [
        length(replace(data.aws_iam_policy_document.deploy[env].json, "/\\s/", "")) <= 10240,
        length(replace(data.aws_iam_policy_document.plan[env].json, "/\\s/", "")) <= 10240,
      ]
    ]))
    error_message = "A deploy or plan role's inline policy exceeds 10,240 characters: ${jsonencode({ for env in ["dev", "prod"] : env => [length(replace(data.aws_iam_policy_document.deploy[env].json, "/\\s/", "")), length(replace(data.aws_iam_policy_document.plan[env].json, "/\\s/", ""))] })}"
  }

  # Trust policies: 2,048 characters unless the account's quota was raised.
  assert {
    condition = alltrue(flatten([
      for env in ["dev", "prod"] : [
        length(replace(data.aws_iam_policy_document.deploy_trust[env].json, "/\\s/", "")) <= 2048,
        length(replace(data.aws_iam_policy_document.plan_trust[env].json, "/\\s/", "")) <= 2048,
      ]
    ]))
    error_message = "A trust policy exceeds the default 2,048-character limit."
  }
}
