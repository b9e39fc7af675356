data "aws_caller_identity" "current" {}

locals {
  # Every name is built here, once.
  prefix = "${var.project}-${var.environment}"
  names = {
    lake_bucket   = "${local.prefix}-lake-${data.aws_caller_identity.current.account_id}"
    log_bucket    = "${local.prefix}-logs-${data.aws_caller_identity.current.account_id}"
    kms_alias     = local.prefix
    ecr           = "${local.prefix}-training"
    glue_database = replace(local.prefix, "-", "_")
    lambda        = "${local.prefix}-pipeline"
    # The roles are created by infra/bootstrap (stack_roles.tf: <project>-<env>-<key>, trusted only
    # by their service); the stack looks them up and writes their inline policies.
    glue_role      = "${local.prefix}-glue"
    lambda_role    = "${local.prefix}-pipeline"
    sfn_role       = "${local.prefix}-sfn"
    scheduler_role = "${local.prefix}-scheduler"
    training_role  = "${local.prefix}-training"
  }

  # fileset() patterns, relative to var.artifact_dir, that find each output of `make package`;
  # the artifact_dir validation makes sure each matches exactly one file.
  artifact_patterns = {
    wheel      = "**/ipeacast-*.whl"
    lambda_zip = "**/lambda*.zip"
    extract    = "**/extract.py"
    transform  = "**/transform.py"
    load       = "**/load.py"
  }
  # Content-addressed keys, the same formula as ipeacast.deploy.aws.artifact_key:
  # artifacts/<sha256 of the file>/<file name>.
  artifact_files = {
    for name, pattern in local.artifact_patterns :
    name => one(fileset(var.artifact_dir, pattern))
  }
  artifact_keys = {
    for name, file in local.artifact_files :
    name => "artifacts/${filesha256("${var.artifact_dir}/${file}")}/${basename(file)}"
  }
  # The dependency wheels Glue installs next to ours (requirements/glue-wheels.txt), same keys.
  glue_wheel_keys = [
    for file in sort(fileset(var.artifact_dir, local.glue_wheels_pattern)) :
    "artifacts/${filesha256("${var.artifact_dir}/${file}")}/${basename(file)}"
  ]
  glue_wheels_pattern = "glue-wheels/*.whl"

  training_image_uri = "${module.ecr.repository_url}:${var.training_image_tag}"

  # The zone layout lives at the lake root and, for smoke runs, under smoke/ (smoke/raw/,
  # smoke/final/, ...). Every role that reaches a zone reaches it under each root; artifacts/ is
  # only at the root.
  lake_roots = ["", "smoke/"]
  zone_prefixes = {
    for zone in ["final", "models", "predictions", "accuracy"] : zone => [for root in local.lake_roots : "${root}${zone}/"]
  }
  sagemaker_output_prefixes = [for root in local.lake_roots : "${root}models/_sagemaker/"]

  # The pipeline's own CloudWatch metrics (LiveMaeRatio), one namespace per environment: the
  # permissions boundary lets a role put metrics only in its own environment's.
  metrics_namespace = "${var.project}/${var.environment}"
}

module "data_lake" {
  source = "../modules/data_lake"

  bucket_name                        = local.names.lake_bucket
  log_bucket_name                    = local.names.log_bucket
  kms_alias                          = local.names.kms_alias
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  interim_expiration_days            = var.interim_expiration_days
  smoke_expiration_days              = var.smoke_expiration_days
  force_destroy                      = var.force_destroy
}

module "ecr" {
  source = "../modules/ecr"

  repository_name    = local.names.ecr
  kms_key_arn        = module.data_lake.kms_key_arn
  keep_tagged_images = var.ecr_keep_tagged_images
  force_delete       = var.force_destroy
}

module "glue" {
  source = "../modules/glue"

  name_prefix   = local.prefix
  database_name = local.names.glue_database
  bucket_name   = module.data_lake.bucket_name
  bucket_arn    = module.data_lake.bucket_arn
  kms_key_arn   = module.data_lake.kms_key_arn
  wheel_key     = local.artifact_keys.wheel
  schema_dir    = "${path.module}/../../src/ipeacast/core/schemas"
  series_codes  = var.series_codes
  lake_roots    = local.lake_roots

  dependency_wheel_keys = local.glue_wheel_keys

  role_name                = local.names.glue_role
  permissions_boundary_arn = var.permissions_boundary_arn

  jobs = {
    for step in ["extract", "transform", "load"] : step => {
      script_key        = local.artifact_keys[step]
      description       = "ipeacast ${step} step (${var.environment})"
      worker_type       = var.glue_worker_type
      number_of_workers = var.glue_number_of_workers
      timeout_minutes   = var.glue_timeout_minutes
    }
  }
  execution_class    = var.glue_execution_class
  log_retention_days = var.log_retention_days
}

module "training" {
  source = "../modules/training"

  role_name          = local.names.training_role
  bucket_arn         = module.data_lake.bucket_arn
  kms_key_arn        = module.data_lake.kms_key_arn
  ecr_repository_arn = module.ecr.repository_arn
  # final/: the training table; predictions/: the forecasts published earlier, which the trainer
  # scores against what happened (the optional forecasts channel).
  read_prefixes  = concat(local.zone_prefixes.final, local.zone_prefixes.predictions)
  write_prefixes = local.sagemaker_output_prefixes # S3OutputPath (ipeacast.aws.training_job)

  permissions_boundary_arn = var.permissions_boundary_arn
}

module "lambda" {
  source = "../modules/lambda"

  function_name      = local.names.lambda
  role_name          = local.names.lambda_role
  package_path       = "${var.artifact_dir}/${local.artifact_files.lambda_zip}"
  bucket_arn         = module.data_lake.bucket_arn
  kms_key_arn        = module.data_lake.kms_key_arn
  memory_mb          = var.lambda_memory_mb
  log_retention_days = var.log_retention_days
  read_prefixes      = concat(local.zone_prefixes.final, local.zone_prefixes.models)
  write_prefixes     = concat(local.zone_prefixes.models, local.zone_prefixes.predictions, local.zone_prefixes.accuracy)

  metrics_namespace        = local.metrics_namespace
  permissions_boundary_arn = var.permissions_boundary_arn

  # Read by ipeacast.aws.training_job.TrainingConfig.from_env and the publish action.
  environment_variables = merge(
    {
      ENVIRONMENT                  = var.environment
      LAKE_BUCKET                  = module.data_lake.bucket_name
      IPEACAST_BUCKET_OWNER        = data.aws_caller_identity.current.account_id
      TRAINING_IMAGE_URI           = local.training_image_uri
      TRAINING_ROLE_ARN            = module.training.role_arn
      TRAINING_INSTANCE_TYPE       = var.training_instance_type
      TRAINING_VOLUME_GB           = tostring(var.training_volume_gb)
      TRAINING_MAX_RUNTIME_SECONDS = tostring(var.training_max_runtime_seconds)
      TRAINING_MAX_WAIT_SECONDS    = tostring(var.training_max_wait_seconds)
      TRAINING_USE_SPOT            = tostring(var.training_use_spot)
      TRAINING_KMS_KEY_ARN         = module.data_lake.kms_key_arn
      TRAINING_JOB_PREFIX          = local.prefix
      METRICS_NAMESPACE            = local.metrics_namespace
    },
    length(var.training_hyperparameters) > 0 ? { TRAINING_HYPERPARAMETERS = jsonencode(var.training_hyperparameters) } : {},
  )
}

module "orchestration" {
  source = "../modules/orchestration"

  name_prefix              = local.prefix
  glue_job_names           = module.glue.job_names
  glue_job_arns            = module.glue.job_arns
  lambda_function_arn      = module.lambda.function_arn
  training_role_arn        = module.training.role_arn
  training_job_name_prefix = local.prefix
  kms_key_arn              = module.data_lake.kms_key_arn
  log_level                = var.sfn_log_level
  log_retention_days       = var.log_retention_days
  schedule_expression      = var.schedule_expression
  schedule_timezone        = var.schedule_timezone
  schedule_enabled         = var.schedule_enabled
  series_codes             = var.series_codes
  alarm_emails             = var.alarm_emails
  state_machine_role_name  = local.names.sfn_role
  scheduler_role_name      = local.names.scheduler_role
  permissions_boundary_arn = var.permissions_boundary_arn
  lake_bucket_name         = module.data_lake.bucket_name
  lake_roots               = local.lake_roots
  metrics_namespace        = local.metrics_namespace
}

# The roles moved to infra/bootstrap (stack_roles.tf): an environment applied before that still
# holds them in its state. Forget them there without destroying them; bootstrap imports them
# (docs/infrastructure.md, "Bootstrap").
removed {
  from = module.glue.aws_iam_role.job
  lifecycle {
    destroy = false
  }
}

removed {
  from = module.training.aws_iam_role.this
  lifecycle {
    destroy = false
  }
}

removed {
  from = module.lambda.aws_iam_role.this
  lifecycle {
    destroy = false
  }
}

removed {
  from = module.orchestration.aws_iam_role.sfn
  lifecycle {
    destroy = false
  }
}

removed {
  from = module.orchestration.aws_iam_role.scheduler
  lifecycle {
    destroy = false
  }
}
