# The rendered policy JSON, from the real AWS provider, offline: aws_iam_policy_document is
# computed locally by the provider, so an apply in which every managed resource and the caller
# identity are overridden (nothing is sent to AWS; the fake credentials are never used) renders
# each document exactly as AWS would receive it.
# 111122223333 is the placeholder account id of the AWS documentation.

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
  environment        = "dev"
  artifact_dir       = "tests/fixtures/artifacts"
  training_image_tag = "3f2c1ab"
  # What environments/dev derives from the caller's account (infra/bootstrap creates it).
  permissions_boundary_arn = "arn:aws:iam::111122223333:policy/ipeacast-dev-boundary"
}

override_data {
  target = data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_data {
  target = module.data_lake.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_data {
  target = module.glue.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_data {
  target = module.training.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_data {
  target = module.lambda.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_data {
  target = module.orchestration.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

# Every managed resource is overridden, and so are the roles the stack looks up (infra/bootstrap
# creates them), so nothing is sent to AWS; the data sources aws_iam_policy_document are not, so
# the provider renders them.
override_resource {
  target = module.data_lake.aws_kms_key.this
  values = { arn = "arn:aws:kms:us-east-1:111122223333:key/key-under-test", key_id = "key-under-test" }
}

override_resource {
  target = module.data_lake.aws_kms_alias.this
  values = {}
}

override_resource {
  target = module.data_lake.aws_s3_bucket.lake
  values = { arn = "arn:aws:s3:::ipeacast-dev-lake-111122223333", id = "ipeacast-dev-lake-111122223333" }
}

override_resource {
  target = module.data_lake.aws_s3_bucket_ownership_controls.lake
  values = {}
}

override_resource {
  target = module.data_lake.aws_s3_bucket_public_access_block.lake
  values = {}
}

override_resource {
  target = module.data_lake.aws_s3_bucket_versioning.lake
  values = {}
}

override_resource {
  target = module.data_lake.aws_s3_bucket_server_side_encryption_configuration.lake
  values = {}
}

override_resource {
  target = module.data_lake.aws_s3_bucket_logging.lake
  values = {}
}

override_resource {
  target = module.data_lake.aws_s3_bucket_lifecycle_configuration.lake
  values = {}
}

override_resource {
  target = module.data_lake.aws_s3_bucket_policy.lake
  values = {}
}

override_resource {
  target = module.data_lake.aws_s3_bucket.logs
  values = { arn = "arn:aws:s3:::ipeacast-dev-logs-111122223333", id = "ipeacast-dev-logs-111122223333" }
}

override_resource {
  target = module.data_lake.aws_s3_bucket_ownership_controls.logs
  values = {}
}

override_resource {
  target = module.data_lake.aws_s3_bucket_public_access_block.logs
  values = {}
}

override_resource {
  target = module.data_lake.aws_s3_bucket_versioning.logs
  values = {}
}

override_resource {
  target = module.data_lake.aws_s3_bucket_server_side_encryption_configuration.logs
  values = {}
}

override_resource {
  target = module.data_lake.aws_s3_bucket_lifecycle_configuration.logs
  values = {}
}

override_resource {
  target = module.data_lake.aws_s3_bucket_policy.logs
  values = {}
}

override_resource {
  target = module.ecr.aws_ecr_repository.this
  values = {
    arn            = "arn:aws:ecr:us-east-1:111122223333:repository/ipeacast-dev-training"
    repository_url = "111122223333.dkr.ecr.us-east-1.amazonaws.com/ipeacast-dev-training"
  }
}

override_resource {
  target = module.ecr.aws_ecr_lifecycle_policy.this
  values = {}
}

override_resource {
  target = module.glue.aws_cloudwatch_log_group.jobs
  values = { arn = "arn:aws:logs:us-east-1:111122223333:log-group:glue-jobs" }
}

override_resource {
  target = module.glue.aws_glue_job.this
  values = { arn = "arn:aws:glue:us-east-1:111122223333:job/under-test" }
}

override_data {
  target = module.glue.data.aws_iam_role.job
  values = { arn = "arn:aws:iam::111122223333:role/glue-job", permissions_boundary = "arn:aws:iam::111122223333:policy/ipeacast-dev-boundary" }
}

override_resource {
  target = module.glue.aws_iam_role_policy.job
  values = {}
}

override_resource {
  target = module.glue.aws_glue_catalog_database.this
  values = { arn = "arn:aws:glue:us-east-1:111122223333:database/ipeacast_dev" }
}

override_resource {
  target = module.glue.aws_glue_catalog_table.this
  values = {}
}

override_data {
  target = module.training.data.aws_iam_role.this
  values = { arn = "arn:aws:iam::111122223333:role/ipeacast-dev-training", permissions_boundary = "arn:aws:iam::111122223333:policy/ipeacast-dev-boundary" }
}

override_resource {
  target = module.training.aws_iam_role_policy.this
  values = {}
}

override_resource {
  target = module.lambda.aws_cloudwatch_log_group.this
  values = { arn = "arn:aws:logs:us-east-1:111122223333:log-group:lambda-this" }
}

override_data {
  target = module.lambda.data.aws_iam_role.this
  values = { arn = "arn:aws:iam::111122223333:role/lambda-this", permissions_boundary = "arn:aws:iam::111122223333:policy/ipeacast-dev-boundary" }
}

override_resource {
  target = module.lambda.aws_iam_role_policy.this
  values = {}
}

override_resource {
  target = module.lambda.aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:111122223333:function:ipeacast-dev-pipeline" }
}

override_resource {
  target = module.orchestration.aws_sns_topic.failures
  values = { arn = "arn:aws:sns:us-east-1:111122223333:ipeacast-dev-failures" }
}

override_resource {
  target = module.orchestration.aws_sns_topic_subscription.email
  values = {}
}

override_resource {
  target = module.orchestration.aws_cloudwatch_metric_alarm.executions_failed
  values = {}
}

override_resource {
  target = module.orchestration.aws_cloudwatch_metric_alarm.live_accuracy
  values = {}
}

override_resource {
  target = module.orchestration.aws_cloudwatch_log_group.sfn
  values = { arn = "arn:aws:logs:us-east-1:111122223333:log-group:orchestration-sfn" }
}

override_data {
  target = module.orchestration.data.aws_iam_role.sfn
  values = { arn = "arn:aws:iam::111122223333:role/orchestration-sfn", permissions_boundary = "arn:aws:iam::111122223333:policy/ipeacast-dev-boundary" }
}

override_resource {
  target = module.orchestration.aws_iam_role_policy.sfn
  values = {}
}

override_resource {
  target = module.orchestration.aws_sfn_state_machine.this
  values = { arn = "arn:aws:states:us-east-1:111122223333:stateMachine:ipeacast-dev-pipeline" }
}

override_data {
  target = module.orchestration.data.aws_iam_role.scheduler
  values = { arn = "arn:aws:iam::111122223333:role/orchestration-scheduler", permissions_boundary = "arn:aws:iam::111122223333:policy/ipeacast-dev-boundary" }
}

override_resource {
  target = module.orchestration.aws_iam_role_policy.scheduler
  values = {}
}

override_resource {
  target = module.orchestration.aws_scheduler_schedule_group.this
  values = {}
}

override_resource {
  target = module.orchestration.aws_scheduler_schedule.run
  values = {}
}

run "rendered_policies_grant_no_wildcard_action" {
  command = apply

  assert {
    condition     = length(output.iam_policy_json) == 8
    error_message = "Expected the 8 policy documents of the stack."
  }

  # Action may be a string or a list in IAM JSON; flatten() handles both.
  assert {
    condition = alltrue(flatten([
      for doc, json in output.iam_policy_json : [
        for s in jsondecode(json).Statement : [for a in flatten([s.Action]) : !strcontains(a, "*")] if s.Effect == "Allow"
      ]
    ]))
    error_message = "A rendered policy allows an action containing '*'."
  }

  assert {
    condition = alltrue(flatten([
      for doc, json in output.iam_policy_json : [for s in jsondecode(json).Statement : !can(s.NotAction)]
    ]))
    error_message = "A rendered policy uses NotAction."
  }

  assert {
    condition = one([
      for s in jsondecode(output.iam_policy_json["orchestration.sfn"]).Statement : s if s.Sid == "PassTrainingRoleToSageMaker"
      ]) == {
      Sid       = "PassTrainingRoleToSageMaker"
      Effect    = "Allow"
      Action    = "iam:PassRole"
      Resource  = "arn:aws:iam::111122223333:role/ipeacast-dev-training"
      Condition = { StringEquals = { "iam:PassedToService" = "sagemaker.amazonaws.com" } }
    }
    error_message = "The state machine must pass only the training role, only to SageMaker."
  }

  assert {
    condition = one([
      for s in jsondecode(output.iam_policy_json["orchestration.sfn"]).Statement : s if s.Sid == "ListPublishedForecasts"
      ]) == {
      Sid       = "ListPublishedForecasts"
      Effect    = "Allow"
      Action    = "s3:ListBucket"
      Resource  = "arn:aws:s3:::ipeacast-dev-lake-111122223333"
      Condition = { StringLike = { "s3:prefix" = ["predictions/series=*", "smoke/predictions/series=*"] } }
    }
    error_message = "The state machine may list only predictions/series=* (and smoke/) in the lake bucket."
  }

  assert {
    condition = one([
      for s in jsondecode(output.iam_policy_json["lambda.lambda"]).Statement : s if s.Sid == "PutPipelineMetrics"
    ]).Condition == { StringEquals = { "cloudwatch:namespace" = "ipeacast/dev" } }
    error_message = "The Lambda may put metrics only in ipeacast/<env>."
  }

  assert {
    condition = one([
      for s in jsondecode(output.iam_policy_json["data_lake.lake_bucket"]).Statement : s if s.Sid == "DenyInsecureTransport"
    ]).Condition == { Bool = { "aws:SecureTransport" = "false" } }
    error_message = "The lake bucket policy must deny requests without TLS."
  }
}
