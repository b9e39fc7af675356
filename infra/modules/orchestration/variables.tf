variable "name_prefix" {
  description = "Prefix of every name in the environment, e.g. ipeacast-dev."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name_prefix))
    error_message = "name_prefix must be 2-41 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "glue_job_names" {
  description = "Glue job names keyed extract, transform, load."
  type        = map(string)

  validation {
    condition     = toset(keys(var.glue_job_names)) == toset(["extract", "transform", "load"])
    error_message = "glue_job_names must have exactly the keys extract, transform and load."
  }
}

variable "glue_job_arns" {
  description = "Glue job ARNs keyed extract, transform, load (what the state machine may start)."
  type        = map(string)

  validation {
    condition     = toset(keys(var.glue_job_arns)) == toset(["extract", "transform", "load"])
    error_message = "glue_job_arns must have exactly the keys extract, transform and load."
  }
}

variable "lambda_function_arn" {
  description = "ARN of the pipeline Lambda (prepare_training and publish actions)."
  type        = string

  validation {
    condition     = startswith(var.lambda_function_arn, "arn:")
    error_message = "lambda_function_arn must be a Lambda function ARN."
  }
}

variable "training_role_arn" {
  description = "ARN of the SageMaker training role; the only role the state machine may pass."
  type        = string

  validation {
    condition     = startswith(var.training_role_arn, "arn:")
    error_message = "training_role_arn must be an IAM role ARN."
  }
}

variable "training_job_name_prefix" {
  description = "Prefix of the training job names the Lambda builds (TRAINING_JOB_PREFIX); scopes the SageMaker permissions."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,19}$", var.training_job_name_prefix))
    error_message = "training_job_name_prefix must be 1-20 lowercase letters, digits or hyphens (SageMaker lowercases names in ARNs)."
  }
}

variable "kms_key_arn" {
  description = "ARN of the environment key (SNS topic, log group, schedule, training volume grants)."
  type        = string

  validation {
    condition     = startswith(var.kms_key_arn, "arn:")
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "log_level" {
  description = "Step Functions execution log level."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be ALL, ERROR or FATAL."
  }
}

variable "log_retention_days" {
  description = "Retention of the state machine log group."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "schedule_expression" {
  description = "EventBridge Scheduler expression for the scheduled runs, e.g. cron(0 6 ? * MON-FRI *)."
  type        = string

  validation {
    condition     = can(regex("^(cron\\(([^ ]+ ){5}[^ ]+\\)|rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\))$", var.schedule_expression))
    error_message = "schedule_expression must be cron(<6 fields>) or rate(<n> <unit>)."
  }
}

variable "schedule_timezone" {
  description = "IANA time zone of the schedule expression."
  type        = string
  default     = "UTC"
}

variable "schedule_enabled" {
  description = "Whether the schedules start executions."
  type        = bool
  default     = true
}

variable "series_codes" {
  description = "Series started by the schedule, one schedule per series ({\"series\": code} as input)."
  type        = list(string)

  validation {
    condition     = length(var.series_codes) > 0 && alltrue([for s in var.series_codes : can(regex("^[A-Za-z0-9_]+$", s))])
    error_message = "series_codes must be a non-empty list of Ipeadata codes (letters, digits, underscores)."
  }
}

variable "alarm_emails" {
  description = "E-mail addresses subscribed to the failure topic (each must confirm the subscription)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alarm_emails must be e-mail addresses."
  }
}

variable "state_machine_role_name" {
  description = "Name of the state machine's role, created by infra/bootstrap (<project>-<env>-sfn, trusted only by Step Functions); this module writes its inline policy."
  type        = string

  validation {
    condition     = can(regex("^[\\w+=,.@-]{1,64}$", var.state_machine_role_name))
    error_message = "state_machine_role_name must be a valid IAM role name (1-64 characters)."
  }
}

variable "scheduler_role_name" {
  description = "Name of the schedules' role, created by infra/bootstrap (<project>-<env>-scheduler, trusted only by EventBridge Scheduler); this module writes its inline policy."
  type        = string

  validation {
    condition     = can(regex("^[\\w+=,.@-]{1,64}$", var.scheduler_role_name))
    error_message = "scheduler_role_name must be a valid IAM role name (1-64 characters)."
  }
}

variable "permissions_boundary_arn" {
  description = "Managed policy both roles must carry (ipeacast-<env>-boundary, created by infra/bootstrap); the plan fails if a role lacks it."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:[a-z-]+:iam::[0-9]{12}:policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM managed policy ARN."
  }
}

variable "lake_bucket_name" {
  description = "Name of the data lake bucket: the state machine lists the forecasts published there (FindPublishedForecasts)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.lake_bucket_name))
    error_message = "lake_bucket_name must be a valid S3 bucket name."
  }
}

variable "lake_roots" {
  description = "Key prefixes the lake zones live under: \"\" (the lake root) and \"smoke/\" (smoke runs). The state machine may list predictions/series=* under each."
  type        = list(string)
  default     = ["", "smoke/"]

  validation {
    condition     = alltrue([for r in var.lake_roots : r == "" || can(regex("^[a-z0-9_-]+/$", r))])
    error_message = "Every lake root is empty or one folder name ending in '/'."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the pipeline's own metrics (the publish action puts LiveMaeRatio there)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be a custom CloudWatch namespace (not AWS/...)."
  }
}

variable "live_mae_ratio_threshold" {
  description = "The live-accuracy alarm fires when a run's LiveMaeRatio (realised MAE of the latest resolved forecasts / the last-price baseline's on the same targets) exceeds this."
  type        = number
  default     = 1.0

  validation {
    condition     = var.live_mae_ratio_threshold > 0
    error_message = "live_mae_ratio_threshold must be positive."
  }
}
