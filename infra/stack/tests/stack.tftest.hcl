# The stack with a mocked AWS provider: nothing is created, every assertion is about what the
# configuration would ask AWS for. Computed ARNs are pinned with overrides so the assertions can
# compare exact values. 111122223333 is the placeholder account id of the AWS documentation (the
# provider validates ARN syntax even when mocked); no real account id appears in this repository.

mock_provider "aws" {
  # A mocked data source returns random strings for computed attributes; the provider still
  # validates policy arguments as JSON, so documents render as an empty policy here. The
  # statements themselves are asserted below (iam_policy_statements), and the real rendered JSON in
  # policy_json.tftest.hcl.
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

  # The stack's roles are created by infra/bootstrap and looked up here (data "aws_iam_role").
  # Each module refuses a role without the environment's boundary; the dev runs find it.
  mock_data "aws_iam_role" {
    defaults = {
      arn                  = "arn:aws:iam::111122223333:role/mocked"
      permissions_boundary = "arn:aws:iam::111122223333:policy/ipeacast-dev-boundary"
    }
  }

  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:sa-east-1:111122223333:key/mocked" }
  }

  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:sa-east-1:111122223333:mocked" }
  }

  mock_resource "aws_sfn_state_machine" {
    defaults = { arn = "arn:aws:states:sa-east-1:111122223333:stateMachine:mocked" }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:sa-east-1:111122223333:log-group:mocked" }
  }

  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:sa-east-1:111122223333:function:mocked" }
  }

  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::mocked" }
  }

  mock_resource "aws_glue_job" {
    defaults = { arn = "arn:aws:glue:sa-east-1:111122223333:job/mocked" }
  }

  mock_resource "aws_glue_catalog_database" {
    defaults = { arn = "arn:aws:glue:sa-east-1:111122223333:database/mocked" }
  }

  mock_resource "aws_ecr_repository" {
    defaults = { arn = "arn:aws:ecr:sa-east-1:111122223333:repository/mocked" }
  }
}

variables {
  environment        = "dev"
  artifact_dir       = "tests/fixtures/artifacts"
  training_image_tag = "3f2c1ab"
  # What environments/dev derives from the caller's account (infra/bootstrap creates it).
  permissions_boundary_arn = "arn:aws:iam::111122223333:policy/ipeacast-dev-boundary"
  alarm_emails             = ["ops@example.org"]
}

override_resource {
  target = module.lambda.aws_lambda_function.this
  values = { arn = "arn:aws:lambda:sa-east-1:111122223333:function:pipeline-under-test" }
}

override_data {
  target = module.training.data.aws_iam_role.this
  values = {
    arn                  = "arn:aws:iam::111122223333:role/training-role-under-test"
    permissions_boundary = "arn:aws:iam::111122223333:policy/ipeacast-dev-boundary"
  }
}

override_resource {
  target = module.ecr.aws_ecr_repository.this
  values = {
    arn            = "arn:aws:ecr:sa-east-1:111122223333:repository/repo-under-test"
    repository_url = "111122223333.dkr.ecr.sa-east-1.amazonaws.com/repo-under-test"
  }
}

override_resource {
  target = module.orchestration.aws_sns_topic.failures
  values = { arn = "arn:aws:sns:sa-east-1:111122223333:topic-under-test" }
}

override_resource {
  target = module.data_lake.aws_kms_key.this
  values = { arn = "arn:aws:kms:sa-east-1:111122223333:key/key-under-test" }
}

run "names_carry_the_environment" {
  command = apply

  assert {
    condition = output.glue_job_names == {
      extract   = "ipeacast-dev-extract"
      transform = "ipeacast-dev-transform"
      load      = "ipeacast-dev-load"
    }
    error_message = "Glue jobs must be named ipeacast-<env>-extract|transform|load (the contract)."
  }

  assert {
    condition     = startswith(output.lake_bucket, "ipeacast-dev-lake-")
    error_message = "The lake bucket name must start with ipeacast-dev-lake-."
  }

  assert {
    condition = alltrue([
      output.name_prefix == "ipeacast-dev",
      output.state_machine_name == "ipeacast-dev-pipeline",
      output.lambda_function_name == "ipeacast-dev-pipeline",
      output.glue_database == "ipeacast_dev",
    ])
    error_message = "State machine, Lambda and catalog database names must carry the environment."
  }

  assert {
    condition     = alltrue([for name in values(output.resource_names) : startswith(name, "ipeacast-dev") || startswith(name, "ipeacast_dev")])
    error_message = "Every name built by the stack must start with the project and environment."
  }

  assert {
    condition     = alltrue([for s in values(output.schedules) : startswith(s.name, "ipeacast-dev-")])
    error_message = "Schedules must be named after the environment."
  }

  assert {
    condition     = output.lambda_environment.ENVIRONMENT == "dev" && output.lambda_environment.TRAINING_JOB_PREFIX == "ipeacast-dev"
    error_message = "The Lambda must tag and name training jobs with the environment."
  }
}

run "prod_differs_only_in_names" {
  command = apply

  variables {
    environment              = "prod"
    permissions_boundary_arn = "arn:aws:iam::111122223333:policy/ipeacast-prod-boundary"
  }

  # infra/bootstrap gives the prod roles the prod boundary.
  override_data {
    target = module.glue.data.aws_iam_role.job
    values = { arn = "arn:aws:iam::111122223333:role/ipeacast-prod-glue", permissions_boundary = "arn:aws:iam::111122223333:policy/ipeacast-prod-boundary" }
  }

  override_data {
    target = module.training.data.aws_iam_role.this
    values = { arn = "arn:aws:iam::111122223333:role/ipeacast-prod-training", permissions_boundary = "arn:aws:iam::111122223333:policy/ipeacast-prod-boundary" }
  }

  override_data {
    target = module.lambda.data.aws_iam_role.this
    values = { arn = "arn:aws:iam::111122223333:role/ipeacast-prod-pipeline", permissions_boundary = "arn:aws:iam::111122223333:policy/ipeacast-prod-boundary" }
  }

  override_data {
    target = module.orchestration.data.aws_iam_role.sfn
    values = { arn = "arn:aws:iam::111122223333:role/ipeacast-prod-sfn", permissions_boundary = "arn:aws:iam::111122223333:policy/ipeacast-prod-boundary" }
  }

  override_data {
    target = module.orchestration.data.aws_iam_role.scheduler
    values = { arn = "arn:aws:iam::111122223333:role/ipeacast-prod-scheduler", permissions_boundary = "arn:aws:iam::111122223333:policy/ipeacast-prod-boundary" }
  }

  assert {
    condition = output.glue_job_names == {
      extract   = "ipeacast-prod-extract"
      transform = "ipeacast-prod-transform"
      load      = "ipeacast-prod-load"
    }
    error_message = "prod Glue jobs must be named ipeacast-prod-*."
  }

  assert {
    condition     = alltrue([for name in values(output.resource_names) : strcontains(name, "prod") && !strcontains(name, "dev")])
    error_message = "Every prod name must carry prod and none may carry dev."
  }

  assert {
    condition     = !strcontains(output.state_machine_definition, "ipeacast-dev")
    error_message = "The prod definition must not reference any dev resource."
  }

  assert {
    condition     = startswith(output.lake_bucket, "ipeacast-prod-lake-") && output.state_machine_name == "ipeacast-prod-pipeline"
    error_message = "prod names must carry prod."
  }
}

run "definition_references_the_right_resources" {
  command = apply

  assert {
    condition = toset([
      for name, state in jsondecode(output.state_machine_definition).States :
      state.Parameters.JobName if can(state.Parameters.JobName)
    ]) == toset(["ipeacast-dev-extract", "ipeacast-dev-transform", "ipeacast-dev-load"])
    error_message = "The Glue tasks must start exactly this environment's three jobs."
  }

  assert {
    condition = toset([
      for name, state in jsondecode(output.state_machine_definition).States :
      state.Parameters.FunctionName if can(state.Parameters.FunctionName)
    ]) == toset(["arn:aws:lambda:sa-east-1:111122223333:function:pipeline-under-test"])
    error_message = "The Lambda tasks must invoke this environment's pipeline function."
  }

  assert {
    condition = toset([
      for name, state in jsondecode(output.state_machine_definition).States :
      state.Parameters.TopicArn if can(state.Parameters.TopicArn)
    ]) == toset(["arn:aws:sns:sa-east-1:111122223333:topic-under-test"])
    error_message = "Failures must be published to this environment's failure topic."
  }

  assert {
    condition = length([
      for name, state in jsondecode(output.state_machine_definition).States :
      name if try(state.Resource, "") == "arn:aws:states:::sagemaker:createTrainingJob.sync"
    ]) == 1
    error_message = "The definition must run one SageMaker training job with the .sync integration."
  }

  assert {
    condition     = output.lambda_environment.TRAINING_IMAGE_URI == "111122223333.dkr.ecr.sa-east-1.amazonaws.com/repo-under-test:3f2c1ab"
    error_message = "The training image must be this environment's repository at the deployed tag."
  }

  assert {
    condition     = output.lambda_environment.IPEACAST_BUCKET_OWNER == "111122223333"
    error_message = "The Lambda must name the account that owns the lake (ExpectedBucketOwner on every S3 call)."
  }

  assert {
    condition     = output.lambda_environment.TRAINING_ROLE_ARN == "arn:aws:iam::111122223333:role/training-role-under-test"
    error_message = "The training role the Lambda puts into CreateTrainingJob must be the training module's role."
  }

  assert {
    condition = one([
      for s in output.iam_policy_statements["orchestration.sfn"] : s if s.sid == "PassTrainingRoleToSageMaker"
      ]).resources == toset(["arn:aws:iam::111122223333:role/training-role-under-test"]) && one([
      for c in one([for s in output.iam_policy_statements["orchestration.sfn"] : s if s.sid == "PassTrainingRoleToSageMaker"]).condition :
      c if c.variable == "iam:PassedToService"
    ]).values == tolist(["sagemaker.amazonaws.com"])
    error_message = "The state machine may pass only the training role, and only to SageMaker."
  }

  assert {
    condition = one([
      for s in output.iam_policy_statements["orchestration.sfn"] : s if s.sid == "SageMakerSyncEventsRule"
    ]).resources == toset(["arn:aws:events:sa-east-1:111122223333:rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule"])
    error_message = "The .sync integration must be limited to the managed SageMaker events rule."
  }

  assert {
    condition     = output.state_machine_logging.tracing_enabled && output.lambda_tracing_mode == "Active" && output.state_machine_logging.log_destination != null
    error_message = "The state machine must log and trace; the Lambda must trace."
  }
}

run "glue_jobs_use_the_packaged_artifacts" {
  command = apply

  # The same file tests/test_infra_artifacts.py checks against ipeacast.deploy.collect_artifacts.
  assert {
    condition     = output.artifact_keys == jsondecode(file("tests/fixtures/expected_artifact_keys.json"))
    error_message = "Artifact keys must be the content-addressed keys ipeacast deploy uploads (artifacts/<sha256>/<name>)."
  }

  assert {
    condition = alltrue([
      for step, job in output.glue_job_settings :
      job.glue_version == "5.0" && job.number_of_workers == 2 && job.timeout == 10
    ])
    error_message = "Every job must run Glue 5.0 with two workers and a 10-minute timeout."
  }

  assert {
    condition = output.glue_job_settings.extract.script_location == format(
      "s3://%s/artifacts/%s/extract.py", output.lake_bucket, filesha256("tests/fixtures/artifacts/glue/extract.py")
    )
    error_message = "Scripts must be read from their content-addressed key artifacts/<sha256>/<name>."
  }

  assert {
    condition = alltrue([
      for step, job in output.glue_job_settings :
      job.default_arguments["--additional-python-modules"] == format(
        "s3://%s/artifacts/%s/ipeacast-0.1.0-py3-none-any.whl,s3://%s/artifacts/%s/ipeadatapy-0.1.9-py3-none-any.whl",
        output.lake_bucket, filesha256("tests/fixtures/artifacts/ipeacast-0.1.0-py3-none-any.whl"),
        output.lake_bucket, filesha256("tests/fixtures/artifacts/glue-wheels/ipeadatapy-0.1.9-py3-none-any.whl")
      ) && job.default_arguments["--lake"] == "s3://${output.lake_bucket}"
    ])
    error_message = "Every job must install the wheel plus the ipeadatapy wheel, both from artifacts/<sha256>/, and receive --lake s3://<bucket>."
  }

  # Glue keeps its bundled pandas/numpy/pyarrow/boto3/requests (--no-deps) and never reaches PyPI
  # (--no-index): every module is one of our content-addressed wheels.
  assert {
    condition     = alltrue([for step, job in output.glue_job_settings : job.default_arguments["--python-modules-installer-option"] == "--no-deps --no-index"])
    error_message = "Every job must install its modules with --no-deps --no-index."
  }

  assert {
    condition     = alltrue([for step, job in output.glue_job_settings : job.default_arguments["--lake_prefix"] == ""])
    error_message = "Every job must have a default --lake_prefix (empty: the lake root) so the argument always exists."
  }

  assert {
    condition = (
      output.glue_tables.final_monthly.partition_keys == ["series", "run_date"] &&
      output.glue_tables.predictions.partition_keys == ["series", "run_date"] &&
      length(output.glue_tables.final_monthly.columns) == length(jsondecode(file("../../src/ipeacast/core/schemas/final_monthly.json")).columns) &&
      output.glue_tables.final_monthly.columns[0] == { name = "month", type = "date" } &&
      output.glue_tables.predictions.location == "s3://${output.lake_bucket}/predictions/"
    )
    error_message = "Catalog tables must follow src/ipeacast/core/schemas/*.json and their lake zones."
  }

  assert {
    condition     = output.glue_tables.final_monthly.parameters["projection.enabled"] == "true" && output.glue_tables.final_monthly.parameters["projection.series.values"] == "EIA366_PBRENT366"
    error_message = "Tables must use partition projection over the configured series."
  }
}

run "buckets_are_encrypted_versioned_and_private" {
  command = apply

  assert {
    condition     = output.bucket_security.lake.sse_algorithm == "aws:kms" && output.bucket_security.lake.kms_master_key_id == "arn:aws:kms:sa-east-1:111122223333:key/key-under-test"
    error_message = "The lake bucket must be encrypted with the environment's KMS key."
  }

  assert {
    condition     = output.bucket_security.logs.sse_algorithm == "AES256"
    error_message = "The access log bucket must be encrypted (SSE-S3, the only option log delivery supports)."
  }

  assert {
    condition     = alltrue([for b in values(output.bucket_security) : b.versioning_status == "Enabled"])
    error_message = "Both buckets must be versioned."
  }

  assert {
    condition     = alltrue([for b in values(output.bucket_security) : alltrue(values(b.public_access_block))])
    error_message = "Both buckets must block every kind of public access."
  }

  assert {
    condition     = output.kms_key_rotation_enabled && output.ecr_image_tag_mutability == "IMMUTABLE"
    error_message = "The key must rotate and image tags must be immutable."
  }

  assert {
    condition = one([
      for s in output.iam_policy_statements["data_lake.lake_bucket"] : s if s.sid == "DenyInsecureTransport"
    ]).effect == "Deny"
    error_message = "The lake bucket policy must deny requests without TLS."
  }
}

run "no_policy_grants_a_wildcard_action" {
  command = apply

  assert {
    condition     = length(output.iam_policy_statements) == 8
    error_message = "Expected the 8 policy documents of the stack; a new document must be added to the module's iam_policy_statements output."
  }

  # Deny statements may use s3:* (refusing every action without TLS is the point); what is
  # granted is always an explicit list.
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
    error_message = "NotAction grants everything else; no statement may use it."
  }

  # "*" as a resource only where the action has no resource type, or in the key policy (where "*"
  # means the key itself).
  assert {
    condition = toset(flatten([
      for doc, statements in output.iam_policy_statements : [
        for s in statements : "${doc}/${s.sid}" if s.effect == "Allow" && contains(coalesce(s.resources, []), "*")
      ]
      ])) == toset([
      "data_lake.kms_key/AccountAdministersKey",
      "data_lake.kms_key/AccountUsesKeyThroughIam",
      "data_lake.kms_key/CloudWatchLogsEncryptsLogGroups",
      "data_lake.kms_key/CloudWatchAlarmsPublishToEncryptedTopic",
      "glue.glue_job/PublishJobMetrics",
      "training.training/AuthenticateToEcr",
      "training.training/PublishTrainingMetrics",
      "lambda.lambda/WriteTraces",
      "lambda.lambda/PutPipelineMetrics",
      "orchestration.sfn/DeliverExecutionLogs",
      "orchestration.sfn/WriteTraces",
    ])
    error_message = "A statement grants on resource '*' although its actions can be scoped."
  }
}

run "every_role_is_bounded" {
  command = apply

  # The roles are infra/bootstrap's (stack_roles.tf, named <project>-<env>-<key>); the stack looks
  # up exactly these five and reports the boundary each one carries (from the data source).
  assert {
    condition = toset(keys(output.iam_role_permissions_boundaries)) == toset([
      "ipeacast-dev-glue", "ipeacast-dev-training", "ipeacast-dev-pipeline", "ipeacast-dev-sfn", "ipeacast-dev-scheduler",
    ])
    error_message = "iam_role_permissions_boundaries must list every role the stack uses, by the names infra/bootstrap creates (a new role must be added to its module's output and to infra/bootstrap/stack_roles.tf)."
  }

  assert {
    condition     = alltrue([for role, boundary in output.iam_role_permissions_boundaries : boundary == "arn:aws:iam::111122223333:policy/ipeacast-dev-boundary"])
    error_message = "Every role of the stack must carry the environment's permissions boundary."
  }

  assert {
    condition = toset([
      for k in ["glue_role", "lambda_role", "sfn_role", "scheduler_role", "training_role"] : output.resource_names[k]
    ]) == toset(keys(output.iam_role_permissions_boundaries))
    error_message = "The role names the stack builds must be the roles its modules look up."
  }
}

run "roles_stay_within_the_boundary_actions" {
  command = apply

  # The same file infra/bootstrap/tests asserts the permissions boundary allows: a role granted an
  # action the boundary lacks would fail on AWS with AccessDenied.
  assert {
    condition = alltrue(flatten([
      for doc in ["glue.glue_job", "training.training", "lambda.lambda", "orchestration.sfn", "orchestration.scheduler"] : [
        for s in output.iam_policy_statements[doc] : [
          for a in s.actions : contains(jsondecode(file("tests/fixtures/stack_role_actions.json")).actions, a)
        ] if s.effect == "Allow"
      ]
    ]))
    error_message = "A stack role is granted an action missing from tests/fixtures/stack_role_actions.json (add it there and to the boundary in infra/bootstrap)."
  }

  assert {
    condition     = output.lake_bucket == "ipeacast-dev-lake-111122223333"
    error_message = "The boundary in infra/bootstrap scopes S3 to <project>-<env>-lake-<account>; the lake bucket must keep that name."
  }
}

run "smoke_runs_reach_their_own_zones" {
  command = apply

  # Every statement that grants on a zone prefix <zone>/* grants the same on smoke/<zone>/*.
  assert {
    condition = alltrue(flatten([
      for doc in ["glue.glue_job", "training.training", "lambda.lambda"] : [
        for s in output.iam_policy_statements[doc] : [
          for r in s.resources : contains(s.resources, replace(r, "arn:aws:s3:::mocked/", "arn:aws:s3:::mocked/smoke/"))
          if startswith(r, "arn:aws:s3:::mocked/") && !startswith(r, "arn:aws:s3:::mocked/smoke/") && !startswith(r, "arn:aws:s3:::mocked/artifacts/") && !startswith(r, "arn:aws:s3:::mocked/tmp/")
        ]
      ]
    ]))
    error_message = "A statement grants on a lake zone but not on the same zone under smoke/."
  }

  assert {
    condition = alltrue([
      for doc in ["glue.glue_job", "training.training", "lambda.lambda", "orchestration.sfn"] : alltrue(flatten([
        for s in output.iam_policy_statements[doc] : [
          for c in coalesce(s.condition, []) : alltrue([
            for v in c.values : contains(c.values, "smoke/${v}") if !startswith(v, "smoke/") && !startswith(v, "artifacts") && !startswith(v, "tmp/")
          ]) if c.variable == "s3:prefix"
        ]
      ]))
    ])
    error_message = "A ListBucket prefix condition covers a zone but not the same zone under smoke/."
  }

  assert {
    condition = alltrue([
      contains(one([for s in output.iam_policy_statements["glue.glue_job"] : s if s.sid == "ReadWriteRawOnce"]).resources, "arn:aws:s3:::mocked/smoke/raw/*"),
      contains(one([for s in output.iam_policy_statements["glue.glue_job"] : s if s.sid == "ReadWriteRebuiltZones"]).resources, "arn:aws:s3:::mocked/smoke/final/*"),
      contains(one([for s in output.iam_policy_statements["training.training"] : s if s.sid == "ReadTrainingInput"]).resources, "arn:aws:s3:::mocked/smoke/final/*"),
      contains(one([for s in output.iam_policy_statements["training.training"] : s if s.sid == "WriteModelOutput"]).resources, "arn:aws:s3:::mocked/smoke/models/_sagemaker/*"),
      contains(one([for s in output.iam_policy_statements["lambda.lambda"] : s if s.sid == "PublishOutputs"]).resources, "arn:aws:s3:::mocked/smoke/predictions/*"),
    ])
    error_message = "Glue, training and publish must reach smoke/raw, smoke/final, smoke/models/_sagemaker and smoke/predictions."
  }

  assert {
    condition     = one([for s in output.iam_policy_statements["glue.glue_job"] : s if s.sid == "ReadArtifacts"]).resources == toset(["arn:aws:s3:::mocked/artifacts/*"])
    error_message = "artifacts/ exists only at the lake root."
  }

  assert {
    condition     = output.lake_lifecycle_rules["smoke-runs-expire"].prefix == "smoke/" && output.lake_lifecycle_rules["smoke-runs-expire"].expiration_days == 7
    error_message = "Objects under smoke/ must expire after 7 days."
  }
}

run "live_accuracy_is_recorded_and_watched" {
  command = apply

  # The state machine finds the series' published forecasts (FindPublishedForecasts) in the lake
  # bucket, and may list nothing else there.
  assert {
    condition     = jsondecode(output.state_machine_definition).States.FindPublishedForecasts.Parameters.Bucket == output.lake_bucket
    error_message = "FindPublishedForecasts must list this environment's lake bucket."
  }

  assert {
    condition = (
      one([for s in output.iam_policy_statements["orchestration.sfn"] : s if s.sid == "ListPublishedForecasts"]).actions == toset(["s3:ListBucket"]) &&
      one([for s in output.iam_policy_statements["orchestration.sfn"] : s if s.sid == "ListPublishedForecasts"]).resources == toset(["arn:aws:s3:::${output.lake_bucket}"]) &&
      one(one([for s in output.iam_policy_statements["orchestration.sfn"] : s if s.sid == "ListPublishedForecasts"]).condition).values == tolist(["predictions/series=*", "smoke/predictions/series=*"])
    )
    error_message = "The state machine may list only predictions/series=* (and its smoke/ twin) in the lake bucket."
  }

  # The training job reads the published forecasts; the publish action writes the accuracy table.
  assert {
    condition = alltrue([
      for r in ["arn:aws:s3:::mocked/predictions/*", "arn:aws:s3:::mocked/smoke/predictions/*"] :
      contains(one([for s in output.iam_policy_statements["training.training"] : s if s.sid == "ReadTrainingInput"]).resources, r)
      ]) && alltrue([
      for r in ["arn:aws:s3:::mocked/accuracy/*", "arn:aws:s3:::mocked/smoke/accuracy/*"] :
      contains(one([for s in output.iam_policy_statements["lambda.lambda"] : s if s.sid == "PublishOutputs"]).resources, r)
    ])
    error_message = "Training must read predictions/ and the publish action must write accuracy/ (and their smoke/ twins)."
  }

  assert {
    condition = (
      output.glue_tables.accuracy.partition_keys == ["series", "run_date"] &&
      output.glue_tables.accuracy.location == "s3://${output.lake_bucket}/accuracy/" &&
      length(output.glue_tables.accuracy.columns) == length(jsondecode(file("../../src/ipeacast/core/schemas/accuracy.json")).columns)
    )
    error_message = "The accuracy table must be catalogued from src/ipeacast/core/schemas/accuracy.json over accuracy/."
  }

  # The metric goes to the environment's own namespace, the only one the Lambda may write.
  assert {
    condition = (
      output.lambda_environment.METRICS_NAMESPACE == "ipeacast/dev" &&
      one([for s in output.iam_policy_statements["lambda.lambda"] : s if s.sid == "PutPipelineMetrics"]).actions == toset(["cloudwatch:PutMetricData"]) &&
      one(one([for s in output.iam_policy_statements["lambda.lambda"] : s if s.sid == "PutPipelineMetrics"]).condition).values == tolist(["ipeacast/dev"])
    )
    error_message = "The Lambda must put its metrics in ipeacast/<env>, and may put them nowhere else."
  }

  assert {
    condition = (
      keys(output.live_accuracy_alarms) == ["EIA366_PBRENT366"] &&
      output.live_accuracy_alarms.EIA366_PBRENT366.namespace == "ipeacast/dev" &&
      output.live_accuracy_alarms.EIA366_PBRENT366.metric == "LiveMaeRatio" &&
      output.live_accuracy_alarms.EIA366_PBRENT366.dimensions == tomap({ Series = "EIA366_PBRENT366" }) &&
      output.live_accuracy_alarms.EIA366_PBRENT366.threshold == 1 &&
      output.live_accuracy_alarms.EIA366_PBRENT366.comparison == "GreaterThanThreshold" &&
      output.live_accuracy_alarms.EIA366_PBRENT366.actions == toset([output.failure_topic_arn])
    )
    error_message = "Each series needs an alarm on LiveMaeRatio > 1 in the environment's namespace that notifies the failure topic."
  }
}

run "raw_is_immutable_for_the_etl" {
  command = apply

  assert {
    condition = alltrue(flatten([
      for s in output.iam_policy_statements["glue.glue_job"] : [
        for r in s.resources : !(contains(s.actions, "s3:DeleteObject") || contains(s.actions, "s3:DeleteObjectVersion") || contains(s.actions, "s3:AbortMultipartUpload"))
        if strcontains(r, "/raw/")
      ] if s.effect == "Allow"
    ]))
    error_message = "The Glue role may not delete (or abort uploads) under raw/ or smoke/raw/."
  }

  assert {
    condition     = one([for s in output.iam_policy_statements["glue.glue_job"] : s if s.sid == "ReadWriteRawOnce"]).actions == toset(["s3:GetObject", "s3:PutObject"])
    error_message = "raw/ is read and written once: GetObject and PutObject only."
  }

  assert {
    condition     = contains(one([for s in output.iam_policy_statements["glue.glue_job"] : s if s.sid == "ReadWriteRebuiltZones"]).actions, "s3:DeleteObject")
    error_message = "interim/ and final/ are replaced by partition: the Glue role must be able to delete there."
  }
}

run "rejects_a_missing_boundary" {
  command = plan

  variables {
    permissions_boundary_arn = "ipeacast-dev-boundary"
  }

  expect_failures = [var.permissions_boundary_arn]
}

run "rejects_a_moving_image_tag" {
  command = plan

  variables {
    training_image_tag = "latest"
  }

  expect_failures = [var.training_image_tag]
}

run "rejects_a_missing_package" {
  command = plan

  variables {
    artifact_dir = "tests/fixtures/no-such-dir"
  }

  expect_failures = [var.artifact_dir]
}

run "rejects_a_bad_environment_name" {
  command = plan

  variables {
    environment = "Prod_1"
  }

  expect_failures = [var.environment]
}
