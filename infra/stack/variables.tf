variable "project" {
  description = "Project name; first part of every resource name."
  type        = string
  default     = "ipeacast"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,15}$", var.project))
    error_message = "project must be 2-16 lowercase letters or digits, starting with a letter."
  }
}

variable "environment" {
  description = "Environment name (dev, prod, ...); second part of every resource name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,7}$", var.environment))
    error_message = "environment must be 2-8 lowercase letters or digits, starting with a letter."
  }
}

variable "series_codes" {
  description = "Ipeadata series the schedule runs and the catalog tables project."
  type        = list(string)
  default     = ["EIA366_PBRENT366"]

  validation {
    condition     = length(var.series_codes) > 0 && alltrue([for s in var.series_codes : can(regex("^[A-Za-z0-9_]+$", s))])
    error_message = "series_codes must be a non-empty list of Ipeadata codes (letters, digits, underscores)."
  }
}

variable "artifact_dir" {
  description = "Directory with the output of `make package` (wheel, Glue scripts, Lambda zip, glue-wheels/*.whl). S3 keys are content-addressed like `ipeacast deploy` uploads them: artifacts/<sha256>/<file name>."
  type        = string

  validation {
    condition     = alltrue([for pattern in values(local.artifact_patterns) : length(fileset(var.artifact_dir, pattern)) == 1])
    error_message = "artifact_dir must hold the output of `make package`: each artifact pattern (wheel, Lambda zip, extract.py, transform.py, load.py) must match exactly one file. Run `make package` first."
  }

  # The Glue jobs install with --no-index: without these wheels extract cannot import ipeadatapy.
  validation {
    condition     = length(fileset(var.artifact_dir, local.glue_wheels_pattern)) > 0
    error_message = "artifact_dir must hold the dependency wheels for Glue (glue-wheels/*.whl, pinned in requirements/glue-wheels.txt). Run `make package` (without --without-glue-wheels) first."
  }
}

variable "training_image_tag" {
  description = "Immutable tag of the training image in this environment's ECR repository (the deploying commit's SHA)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.training_image_tag)) && !contains(["latest", "main", "master", "dev", "prod", "stable"], var.training_image_tag)
    error_message = "training_image_tag must be a valid, immutable Docker tag (e.g. the commit SHA), not a moving tag such as latest."
  }
}

variable "training_instance_type" {
  description = "SageMaker instance type of the training job."
  type        = string
  default     = "ml.m5.large"

  validation {
    condition     = can(regex("^ml\\.[a-z0-9]+\\.[a-z0-9]+$", var.training_instance_type))
    error_message = "training_instance_type must be a SageMaker instance type such as ml.m5.large."
  }
}

variable "training_use_spot" {
  description = "Use managed spot training (about 70% cheaper; the job waits for capacity up to the max wait)."
  type        = bool
  default     = true
}

variable "training_max_runtime_seconds" {
  description = "Stopping condition of the training job (runtime)."
  type        = number
  default     = 900

  validation {
    condition     = var.training_max_runtime_seconds >= 60 && var.training_max_runtime_seconds <= 86400
    error_message = "training_max_runtime_seconds must be between 60 and 86400."
  }
}

variable "training_max_wait_seconds" {
  description = "Maximum wait for spot capacity plus runtime (must be >= the max runtime)."
  type        = number
  default     = 1800

  validation {
    condition     = var.training_max_wait_seconds >= 60 && var.training_max_wait_seconds <= 172800
    error_message = "training_max_wait_seconds must be between 60 and 172800."
  }
}

variable "training_volume_gb" {
  description = "EBS volume of the training instance in GB (the final table is kilobytes)."
  type        = number
  default     = 5

  validation {
    condition     = var.training_volume_gb >= 1 && var.training_volume_gb <= 100
    error_message = "training_volume_gb must be between 1 and 100."
  }
}

variable "training_hyperparameters" {
  description = "Extra hyperparameters (strings) for every training job."
  type        = map(string)
  default     = {}
}

variable "glue_worker_type" {
  description = "Glue worker type of the three jobs."
  type        = string
  default     = "G.1X"
}

variable "glue_number_of_workers" {
  description = "Glue workers per job (2 is the Spark minimum; the data is a few thousand rows)."
  type        = number
  default     = 2
}

variable "glue_timeout_minutes" {
  description = "Timeout of each Glue job in minutes."
  type        = number
  default     = 10
}

variable "glue_execution_class" {
  description = "STANDARD or FLEX (cheaper spare capacity, later start)."
  type        = string
  default     = "FLEX"
}

variable "lambda_memory_mb" {
  description = "Memory of the pipeline Lambda in MB."
  type        = number
  default     = 512
}

variable "schedule_expression" {
  description = "EventBridge Scheduler expression of the scheduled runs."
  type        = string
  default     = "cron(0 6 ? * MON-FRI *)"
}

variable "schedule_timezone" {
  description = "IANA time zone of the schedule."
  type        = string
  default     = "UTC"
}

variable "schedule_enabled" {
  description = "Whether the schedules start executions."
  type        = bool
  default     = true
}

variable "alarm_emails" {
  description = "E-mail addresses notified of failed runs."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "Retention of every log group of the environment."
  type        = number
  default     = 30
}

variable "sfn_log_level" {
  description = "Step Functions execution log level (ALL, ERROR, FATAL)."
  type        = string
  default     = "ERROR"
}

variable "noncurrent_version_expiration_days" {
  description = "Days replaced or deleted lake object versions are kept."
  type        = number
  default     = 90
}

variable "interim_expiration_days" {
  description = "Days objects under interim/ are kept."
  type        = number
  default     = 30
}

variable "ecr_keep_tagged_images" {
  description = "Tagged training images kept for rollback."
  type        = number
  default     = 30
}

variable "force_destroy" {
  description = "Let Terraform delete non-empty buckets and repositories (throw-away environments only)."
  type        = bool
  default     = false
}

variable "smoke_expiration_days" {
  description = "Days objects under smoke/ (the lake layout of smoke runs) are kept."
  type        = number
  default     = 7
}

variable "permissions_boundary_arn" {
  description = "The environment's permissions boundary (<project>-<env>-boundary, created by infra/bootstrap). Every role of the stack is created with it; the deploy role may create roles only with it."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:[a-z-]+:iam::[0-9]{12}:policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM managed policy ARN (arn:<partition>:iam::<account>:policy/<project>-<env>-boundary)."
  }
}
