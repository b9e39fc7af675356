# The bootstrap root with a mocked AWS provider: who may assume which role, and what they may do.
# 111122223333 is the placeholder account id of the AWS documentation.

mock_provider "aws" {
  source = "./tests/mocks"

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

  # The subject names the environment, the workflow file and refs/heads/main: a pr.yml (or any
  # workflow edited on a branch) that declares `environment: prod` does not match.
  assert {
    condition = alltrue([
      for env in ["dev", "prod"] : {
        for c in one(output.iam_policy_statements["deploy_trust.${env}"]).condition : c.variable => "${c.test} ${jsonencode(sort(c.values))}"
        } == {
        "token.actions.githubusercontent.com:aud" = "StringEquals [\"sts.amazonaws.com\"]"
        "token.actions.githubusercontent.com:sub" = "StringEquals ${jsonencode([
          "repo:octo-org/ipeacast:environment:${env}:job_workflow_ref:octo-org/ipeacast/.github/workflows/deploy.yml@refs/heads/main",
          "repo:octo-org/ipeacast:environment:${env}:job_workflow_ref:octo-org/ipeacast/.github/workflows/dispatch.yml@refs/heads/main",
        ])}"
      }
    ])
    error_message = "Deploy trust must be exactly aud = sts.amazonaws.com and sub = the environment + deploy.yml/dispatch.yml at refs/heads/main (StringEquals, no wildcard)."
  }

  assert {
    condition     = !anytrue([for env in ["dev", "prod"] : anytrue([for s in output.trust_subjects.deploy[env] : strcontains(s, "*") || strcontains(s, "pr.yml")])])
    error_message = "No deploy subject may hold a wildcard or name the pull request workflow."
  }
}

run "plan_roles_prod_from_main_only" {
  command = apply

  assert {
    condition     = toset(keys(output.plan_role_arns)) == toset(["dev", "prod"])
    error_message = "There must be one read-only plan role per environment."
  }

  assert {
    condition     = length(output.iam_policy_statements["plan_trust.prod"]) == 1
    error_message = "The prod plan role must have a single trust statement (main branch workflows only)."
  }

  assert {
    condition = {
      for c in one(output.iam_policy_statements["plan_trust.prod"]).condition : c.variable => "${c.test} ${jsonencode(sort(c.values))}"
      } == {
      "token.actions.githubusercontent.com:aud" = "StringEquals [\"sts.amazonaws.com\"]"
      "token.actions.githubusercontent.com:sub" = "StringEquals ${jsonencode([
        for wf in ["deploy.yml", "dispatch.yml", "drift.yml"] : "repo:octo-org/ipeacast:ref:refs/heads/main:job_workflow_ref:octo-org/ipeacast/.github/workflows/${wf}@refs/heads/main"
      ])}"
    }
    error_message = "The prod plan role must trust only the main branch's deploy, dispatch and drift workflows (no pull request)."
  }

  assert {
    condition = [
      for s in output.iam_policy_statements["plan_trust.dev"] : {
        for c in s.condition : c.variable => "${c.test} ${jsonencode(sort(c.values))}"
      } if s.sid == "GitHubPullRequests"
      ] == [{
        "token.actions.githubusercontent.com:aud" = "StringEquals [\"sts.amazonaws.com\"]"
        "token.actions.githubusercontent.com:sub" = "StringLike [\"repo:octo-org/ipeacast:pull_request:job_workflow_ref:octo-org/ipeacast/.github/workflows/pr.yml@refs/pull/*/merge\"]"
    }]
    error_message = "The dev plan role must also trust this repository's pull requests (pr.yml at refs/pull/<n>/merge)."
  }

  # Each plan role reads only its own environment's state.
  assert {
    condition = alltrue([
      for env in ["dev", "prod"] : one([
        for s in output.iam_policy_statements["plan.${env}"] : s.resources if s.sid == "ReadState"
      ]) == toset(["arn:aws:s3:::mocked/ipeacast/${env}/*"])
    ])
    error_message = "A plan role may read only its own environment's state (ipeacast/<env>/*)."
  }
}

run "pull_requests_never_plan_prod" {
  command = plan

  variables {
    pull_request_plan_environments = ["dev", "prod"]
  }

  expect_failures = [var.pull_request_plan_environments]
}

run "no_policy_grants_a_wildcard_action" {
  command = apply

  assert {
    condition     = length(output.iam_policy_statements) == 12
    error_message = "Expected 12 policy documents (state key, state bucket, and plan trust + plan + deploy trust + deploy + boundary per environment)."
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
      for env in ["dev", "prod"] : [
        for s in output.iam_policy_statements["plan.${env}"] : [
          for a in s.actions : can(regex("^[a-z0-9-]+:(Get|List|Describe)", a)) || a == "kms:Decrypt"
        ]
      ]
    ]))
    error_message = "The plan role may only read (Get/List/Describe, kms:Decrypt)."
  }

  assert {
    condition = alltrue(flatten([
      for env in ["dev", "prod"] : [
        for s in output.iam_policy_statements["plan.${env}"] : [
          for a in s.actions : !can(regex("^s3:(Put|Delete)", a))
        ]
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
      for env in ["dev", "prod"] : one([for s in output.iam_policy_statements["deploy.${env}"] : s if s.sid == "WriteBoundedRoles"]).actions == toset(["iam:PutRolePolicy"])
    ])
    error_message = "The deploy role must be able to write the inline policies of bounded roles, and nothing more."
  }

  # Roles are created in bootstrap, trusted only by their service (stack_roles.tf): a deploy role
  # may not create one (it could be trusted by another account), delete one or change a trust.
  assert {
    condition = alltrue([
      for env in ["dev", "prod"] : alltrue([
        for a in ["iam:CreateRole", "iam:UpdateAssumeRolePolicy", "iam:DeleteRole", "iam:CreateUser", "iam:CreateAccessKey"] : !anytrue([
          for s in output.iam_policy_statements["deploy.${env}"] : contains(s.actions, a) if s.effect == "Allow"
          ]) && anytrue([
          for s in output.iam_policy_statements["deploy.${env}"] : contains(s.actions, a) && s.resources == toset(["*"]) && length(s.condition) == 0 if s.effect == "Deny"
        ])
      ])
    ])
    error_message = "A deploy role must be denied (unconditionally) creating or deleting roles, users and keys, and changing trust policies."
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

  # The pipeline's own metrics (LiveMaeRatio) only in the environment's namespace.
  assert {
    condition = alltrue([
      for env in ["dev", "prod"] : one(one([for s in output.iam_policy_statements["boundary.${env}"] : s if s.sid == "PublishMetrics"]).condition).values == tolist(["Glue", "/aws/sagemaker/*", "ipeacast/${env}"])
    ])
    error_message = "A boundary may allow metrics only in Glue's, SageMaker's and its own environment's namespace."
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
    condition = alltrue(flatten([
      for s in output.iam_policy_statements["boundary.dev"] : [for r in s.resources : !strcontains(r, "prod")]
    ]))
    error_message = "The dev boundary must not reach prod resources."
  }
}

run "prod_deploy_role_cannot_destroy_data" {
  command = apply

  assert {
    condition = !anytrue(flatten([
      for s in output.iam_policy_statements["deploy.prod"] : [
        for a in s.actions : contains([
          "s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:ListBucketVersions",
          "kms:ScheduleKeyDeletion", "ecr:DeleteRepository",
        ], a)
      ] if s.effect == "Allow" && s.sid != "StateObjects"
    ]))
    error_message = "The prod deploy role may not be allowed to delete buckets, objects, object versions, its key or its image repository (only its own state lock file)."
  }

  assert {
    condition = alltrue([
      for a in ["s3:DeleteBucket", "s3:DeleteObjectVersion", "s3:DeleteObject", "s3:DeleteBucketPolicy"] : anytrue([
        for s in output.iam_policy_statements["deploy.prod"] : s.effect == "Deny" && contains(s.actions, a) && length(s.condition) == 0
      ])
    ])
    error_message = "The prod deploy role must be denied (unconditionally) every S3 deletion, whatever a later statement allows."
  }

  assert {
    condition     = anytrue([for s in output.iam_policy_statements["deploy.prod"] : s.effect == "Deny" && contains(s.actions, "kms:ScheduleKeyDeletion")])
    error_message = "The prod deploy role must be denied kms:ScheduleKeyDeletion."
  }

  # Objects: only artifacts/ (the data zones belong to the pipeline roles).
  assert {
    condition = alltrue(flatten([
      for env in ["dev", "prod"] : [
        for s in output.iam_policy_statements["deploy.${env}"] : [
          for r in s.resources : endswith(r, "/artifacts/*") || !strcontains(r, ":s3:::ipeacast-${env}-*/")
        ] if s.effect == "Allow" && anytrue([for a in s.actions : contains(["s3:GetObject", "s3:PutObject"], a)])
      ]
    ]))
    error_message = "A deploy role may read and write lake objects only under artifacts/."
  }

  # dev is disposable (force_destroy): its deploy role can empty and delete what it created.
  assert {
    condition = alltrue([
      for a in ["s3:DeleteBucket", "s3:DeleteObjectVersion", "kms:ScheduleKeyDeletion", "ecr:DeleteRepository"] : anytrue([
        for s in output.iam_policy_statements["deploy.dev"] : s.effect == "Allow" && contains(s.actions, a)
      ])
    ])
    error_message = "The dev deploy role must still be able to destroy the dev stack (force_destroy)."
  }
}

run "no_environment_changes_account_wide_settings" {
  command = apply

  assert {
    condition = !anytrue(flatten([
      for env in ["dev", "prod"] : [
        for s in output.iam_policy_statements["deploy.${env}"] : [
          for a in s.actions : startswith(a, "glue:") && strcontains(a, "SecurityConfiguration")
        ] if s.effect == "Allow"
      ]
    ]))
    error_message = "No deploy role may create or delete Glue security configurations (they have no resource type: one environment could delete another's)."
  }

  assert {
    condition = alltrue([
      for env in ["dev", "prod"] : anytrue([
        for s in output.iam_policy_statements["deploy.${env}"] : s.effect == "Deny" && alltrue([
          for a in ["logs:CreateLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:PutResourcePolicy", "logs:DeleteResourcePolicy"] : contains(s.actions, a)
        ]) && [for c in s.condition : "${c.test} ${c.variable} ${jsonencode(c.values)}"] == ["Bool aws:ViaAWSService [\"false\"]"]
      ])
    ])
    error_message = "Log deliveries and log resource policies (account-wide) may be changed only through Step Functions, never by a direct call of a deploy role."
  }

  assert {
    condition = alltrue([
      aws_s3_account_public_access_block.this.block_public_acls,
      aws_s3_account_public_access_block.this.block_public_policy,
      aws_s3_account_public_access_block.this.ignore_public_acls,
      aws_s3_account_public_access_block.this.restrict_public_buckets,
    ])
    error_message = "Bootstrap must block public access for the whole account."
  }

  assert {
    condition = !anytrue(flatten([
      for doc, statements in output.iam_policy_statements : [
        for s in statements : [for a in s.actions : a == "s3:PutAccountPublicAccessBlock"] if s.effect == "Allow"
      ]
    ]))
    error_message = "No role of bootstrap may change the account's public access block."
  }
}

run "disposable_environments_never_include_prod" {
  command = plan

  variables {
    disposable_environments = ["dev", "prod"]
  }

  expect_failures = [var.disposable_environments]
}
