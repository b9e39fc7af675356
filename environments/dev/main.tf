# One call of the composition; environments differ only in terraform.tfvars.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  # The boundary infra/bootstrap creates for this environment (<project>-<env>-boundary), derived
  # from the caller's account so no account id is written down; a tfvars value overrides it.
  permissions_boundary_arn = coalesce(
    var.permissions_boundary_arn,
    "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:policy/${var.project}-${var.environment}-boundary",
  )
}

module "stack" {
  source = "../../infra/stack"

  project                            = var.project
  environment                        = var.environment
  artifact_dir                       = var.artifact_dir
  training_image_tag                 = var.training_image_tag
  series_codes                       = var.series_codes
  schedule_expression                = var.schedule_expression
  schedule_enabled                   = var.schedule_enabled
  alarm_emails                       = var.alarm_emails
  log_retention_days                 = var.log_retention_days
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  glue_execution_class               = var.glue_execution_class
  glue_timeout_minutes               = var.glue_timeout_minutes
  training_instance_type             = var.training_instance_type
  training_use_spot                  = var.training_use_spot
  force_destroy                      = var.force_destroy
  permissions_boundary_arn           = local.permissions_boundary_arn
}
