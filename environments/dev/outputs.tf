output "lake_bucket" {
  description = "Data lake bucket (ipeacast deploy upload-artifacts --bucket)."
  value       = module.stack.lake_bucket
}

output "ecr_repository_url" {
  description = "Training image repository."
  value       = module.stack.ecr_repository_url
}

output "training_image_uri" {
  description = "Training image in use."
  value       = module.stack.training_image_uri
}

output "state_machine_arn" {
  description = "Pipeline state machine (smoke runs)."
  value       = module.stack.state_machine_arn
}

output "glue_job_names" {
  description = "Glue jobs by step."
  value       = module.stack.glue_job_names
}

output "glue_database" {
  description = "Catalog database for Athena."
  value       = module.stack.glue_database
}

output "lambda_function_name" {
  description = "Pipeline Lambda."
  value       = module.stack.lambda_function_name
}

output "failure_topic_arn" {
  description = "Failure notifications topic."
  value       = module.stack.failure_topic_arn
}

output "artifact_keys" {
  description = "Content-addressed artifact keys the jobs expect."
  value       = module.stack.artifact_keys
}
