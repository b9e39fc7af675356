# The stack creates no role: infra/bootstrap does (stack_roles.tf), and each module looks its role
# up by name. A module must refuse, at plan time and before writing any policy to it, a role that
# does not carry the environment's boundary: here dev's modules find roles bounded by prod's
# boundary, or by none. Each module is planned on its own (a run's `module` block), so the failing
# data source is checkable by expect_failures. 111122223333 is the placeholder account id of the
# AWS documentation.

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
    defaults = { name = "sa-east-1" }
  }

  # What a role bounded by another environment's boundary looks like.
  mock_data "aws_iam_role" {
    defaults = {
      arn                  = "arn:aws:iam::111122223333:role/mocked"
      permissions_boundary = "arn:aws:iam::111122223333:policy/ipeacast-prod-boundary"
    }
  }
}

variables {
  permissions_boundary_arn = "arn:aws:iam::111122223333:policy/ipeacast-dev-boundary"
  bucket_name              = "ipeacast-dev-lake-111122223333"
  bucket_arn               = "arn:aws:s3:::ipeacast-dev-lake-111122223333"
  kms_key_arn              = "arn:aws:kms:sa-east-1:111122223333:key/key-under-test"
  series_codes             = ["EIA366_PBRENT366"]
}

run "glue_refuses_a_role_without_the_boundary" {
  command = plan

  module {
    source = "../modules/glue"
  }

  variables {
    name_prefix   = "ipeacast-dev"
    database_name = "ipeacast_dev"
    role_name     = "ipeacast-dev-glue"
    wheel_key     = "artifacts/0/ipeacast-0.1.0-py3-none-any.whl"
    schema_dir    = "../../src/ipeacast/core/schemas"
    jobs = {
      for step in ["extract", "transform", "load"] : step => { script_key = "artifacts/0/${step}.py" }
    }
  }

  expect_failures = [data.aws_iam_role.job]
}

run "training_refuses_a_role_without_the_boundary" {
  command = plan

  module {
    source = "../modules/training"
  }

  variables {
    role_name          = "ipeacast-dev-training"
    ecr_repository_arn = "arn:aws:ecr:sa-east-1:111122223333:repository/ipeacast-dev-training"
  }

  expect_failures = [data.aws_iam_role.this]
}

run "lambda_refuses_a_role_without_the_boundary" {
  command = plan

  module {
    source = "../modules/lambda"
  }

  variables {
    function_name     = "ipeacast-dev-pipeline"
    role_name         = "ipeacast-dev-pipeline"
    package_path      = "tests/fixtures/artifacts/lambda.zip"
    metrics_namespace = "ipeacast/dev"
    environment_variables = {
      LAKE_BUCKET            = "ipeacast-dev-lake-111122223333"
      TRAINING_IMAGE_URI     = "111122223333.dkr.ecr.sa-east-1.amazonaws.com/ipeacast-dev-training:3f2c1ab"
      TRAINING_ROLE_ARN      = "arn:aws:iam::111122223333:role/ipeacast-dev-training"
      TRAINING_INSTANCE_TYPE = "ml.m5.large"
    }
  }

  expect_failures = [data.aws_iam_role.this]
}

run "orchestration_refuses_roles_without_the_boundary" {
  command = plan

  module {
    source = "../modules/orchestration"
  }

  variables {
    name_prefix              = "ipeacast-dev"
    state_machine_role_name  = "ipeacast-dev-sfn"
    scheduler_role_name      = "ipeacast-dev-scheduler"
    training_role_arn        = "arn:aws:iam::111122223333:role/ipeacast-dev-training"
    training_job_name_prefix = "ipeacast-dev"
    lambda_function_arn      = "arn:aws:lambda:sa-east-1:111122223333:function:ipeacast-dev-pipeline"
    schedule_expression      = "cron(0 10 ? * MON *)"
    glue_job_names           = { for step in ["extract", "transform", "load"] : step => "ipeacast-dev-${step}" }
    glue_job_arns            = { for step in ["extract", "transform", "load"] : step => "arn:aws:glue:sa-east-1:111122223333:job/ipeacast-dev-${step}" }
    lake_bucket_name         = "ipeacast-dev-lake-111122223333"
    metrics_namespace        = "ipeacast/dev"
  }

  # The scheduler's role has no boundary at all.
  override_data {
    target = data.aws_iam_role.scheduler
    values = { arn = "arn:aws:iam::111122223333:role/ipeacast-dev-scheduler", permissions_boundary = null }
  }

  expect_failures = [data.aws_iam_role.sfn, data.aws_iam_role.scheduler]
}
