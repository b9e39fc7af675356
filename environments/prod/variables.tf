variable "aws_region" {
  description = "AWS region of the environment."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-\\d$", var.aws_region))
    error_message = "aws_region must be a region name such as sa-east-1."
  }
}

variable "project" {
  description = "Project name; first part of every resource name."
  type        = string
  default     = "ipeacast"
}

variable "environment" {
  description = "Environment name; second part of every resource name."
  type        = string
}

variable "repository" {
  description = "owner/name of the GitHub repository that deploys this environment (a tag on every resource)."
  type        = string
}

variable "artifact_dir" {
  description = "Output directory of `make package` (wheel, Glue scripts, Lambda zip)."
  type        = string
  default     = "../../dist"
}

variable "training_image_tag" {
  description = "Immutable tag (commit SHA) of the training image; the deploy workflow sets TF_VAR_training_image_tag."
  type        = string
}

variable "series_codes" {
  description = "Series the schedule runs."
  type        = list(string)
}

variable "schedule_expression" {
  description = "EventBridge Scheduler expression of the scheduled runs."
  type        = string
}

variable "schedule_enabled" {
  description = "Whether the schedule starts runs."
  type        = bool
}

variable "alarm_emails" {
  description = "E-mail addresses notified of failed runs."
  type        = list(string)
}

variable "log_retention_days" {
  description = "Retention of every log group."
  type        = number
}

variable "noncurrent_version_expiration_days" {
  description = "Days replaced or deleted lake object versions are kept."
  type        = number
}

variable "glue_execution_class" {
  description = "STANDARD or FLEX."
  type        = string
}

variable "glue_timeout_minutes" {
  description = "Timeout of each Glue job."
  type        = number
}

variable "training_instance_type" {
  description = "SageMaker instance type."
  type        = string
}

variable "training_use_spot" {
  description = "Use managed spot training."
  type        = bool
}

variable "force_destroy" {
  description = "Let Terraform delete non-empty buckets and repositories."
  type        = bool
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary of every role the stack creates; default: the <project>-<environment>-boundary policy infra/bootstrap made in the caller's account."
  type        = string
  default     = null
}
