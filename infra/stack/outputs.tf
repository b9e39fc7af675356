output "name_prefix" {
  description = "Prefix of every resource name of the environment."
  value       = local.prefix
}

output "lake_bucket" {
  description = "Data lake bucket."
  value       = module.data_lake.bucket_name
}

output "lake_uri" {
  description = "Lake root URI (s3://bucket)."
  value       = module.data_lake.lake_uri
}

output "kms_key_arn" {
  description = "The environment's KMS key."
  value       = module.data_lake.kms_key_arn
}

output "ecr_repository_url" {
  description = "Training image repository (push <url>:<commit sha>)."
  value       = module.ecr.repository_url
}

output "training_image_uri" {
  description = "Training image the Lambda puts into CreateTrainingJob."
  value       = local.training_image_uri
}

output "training_role_arn" {
  description = "SageMaker training role."
  value       = module.training.role_arn
}

output "artifact_keys" {
  description = "S3 keys (in the lake bucket) the jobs and the Lambda expect, content-addressed."
  value       = local.artifact_keys
}

output "glue_job_names" {
  description = "Glue job names keyed by step."
  value       = module.glue.job_names
}

output "glue_job_settings" {
  description = "Glue job versions, sizes, timeouts and arguments."
  value       = module.glue.job_settings
}

output "glue_database" {
  description = "Glue Data Catalog database (Athena) of the lake tables."
  value       = module.glue.database_name
}

output "glue_tables" {
  description = "Catalog tables with their locations, columns and partition keys."
  value       = module.glue.tables
}

output "lambda_function_name" {
  description = "Pipeline Lambda function."
  value       = module.lambda.function_name
}

output "lambda_function_arn" {
  description = "Pipeline Lambda function ARN."
  value       = module.lambda.function_arn
}

output "lambda_environment" {
  description = "Environment of the pipeline Lambda."
  value       = module.lambda.environment_variables
}

output "lambda_tracing_mode" {
  description = "X-Ray tracing mode of the Lambda."
  value       = module.lambda.tracing_mode
}

output "state_machine_arn" {
  description = "Pipeline state machine ARN (start executions with {\"series\": ...})."
  value       = module.orchestration.state_machine_arn
}

output "state_machine_name" {
  description = "Pipeline state machine name."
  value       = module.orchestration.state_machine_name
}

output "state_machine_role_arn" {
  description = "Role of the state machine."
  value       = module.orchestration.state_machine_role_arn
}

output "state_machine_definition" {
  description = "The rendered ASL definition."
  value       = module.orchestration.definition
}

output "state_machine_logging" {
  description = "Logging and tracing settings of the state machine."
  value       = module.orchestration.logging_and_tracing
}

output "schedules" {
  description = "Schedules per series."
  value       = module.orchestration.schedules
}

output "live_accuracy_alarms" {
  description = "The live-accuracy alarm per series (LiveMaeRatio above the threshold)."
  value       = module.orchestration.live_accuracy_alarms
}

output "failure_topic_arn" {
  description = "SNS topic of failed runs."
  value       = module.orchestration.failure_topic_arn
}

output "bucket_security" {
  description = "Encryption, versioning and public access block of the buckets."
  value       = module.data_lake.security_settings
}

output "kms_key_rotation_enabled" {
  description = "Whether the environment key rotates."
  value       = module.data_lake.kms_key_rotation_enabled
}

output "ecr_image_tag_mutability" {
  description = "Tag mutability of the training image repository."
  value       = module.ecr.image_tag_mutability
}

output "iam_policy_statements" {
  description = "Every IAM policy document of the stack (module.document => statements), for tests and review."
  value = merge(
    { for k, v in module.data_lake.iam_policy_statements : "data_lake.${k}" => v },
    { for k, v in module.glue.iam_policy_statements : "glue.${k}" => v },
    { for k, v in module.training.iam_policy_statements : "training.${k}" => v },
    { for k, v in module.lambda.iam_policy_statements : "lambda.${k}" => v },
    { for k, v in module.orchestration.iam_policy_statements : "orchestration.${k}" => v },
  )
}

output "iam_policy_json" {
  description = "Rendered JSON of every IAM policy document of the stack (module.document => JSON)."
  value = merge(
    { for k, v in module.data_lake.iam_policy_json : "data_lake.${k}" => v },
    { for k, v in module.glue.iam_policy_json : "glue.${k}" => v },
    { for k, v in module.training.iam_policy_json : "training.${k}" => v },
    { for k, v in module.lambda.iam_policy_json : "lambda.${k}" => v },
    { for k, v in module.orchestration.iam_policy_json : "orchestration.${k}" => v },
  )
}

output "resource_names" {
  description = "Every name the stack builds in locals (bucket, key alias, repository, catalog, function, roles)."
  value       = local.names
}

output "iam_role_permissions_boundaries" {
  description = "Permissions boundary of every IAM role the stack creates, by role name."
  value = merge(
    module.glue.role_permissions_boundaries,
    module.training.role_permissions_boundaries,
    module.lambda.role_permissions_boundaries,
    module.orchestration.role_permissions_boundaries,
  )
}

output "lake_lifecycle_rules" {
  description = "Lifecycle rules of the lake bucket (id => prefix, expiration, noncurrent days)."
  value       = module.data_lake.lifecycle_rules
}
