variable "function_name" {
  description = "Name of the pipeline Lambda function (actions prepare_training and publish)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be 1-64 letters, digits, hyphens or underscores."
  }
}

variable "description" {
  description = "Description of the function."
  type        = string
  default     = "ipeacast pipeline actions: prepare_training (CreateTrainingJob request) and publish (forecast to predictions/)"
}

variable "handler" {
  description = "Handler entry point inside the zip."
  type        = string
  default     = "handler.handler"
}

variable "runtime" {
  description = "Lambda runtime (the library targets Python 3.11)."
  type        = string
  default     = "python3.11"

  validation {
    condition     = can(regex("^python3\\.(11|12|13)$", var.runtime))
    error_message = "runtime must be python3.11, python3.12 or python3.13."
  }
}

variable "package_path" {
  description = "Local path of the packaged zip (make package). Set this or s3_key."
  type        = string
  default     = null
}

variable "s3_bucket" {
  description = "Bucket holding the packaged zip when s3_key is used."
  type        = string
  default     = null
}

variable "s3_key" {
  description = "S3 key of the packaged zip (alternative to package_path)."
  type        = string
  default     = null
}

variable "timeout_seconds" {
  description = "Function timeout; publish reads the model archive and rewrites one partition."
  type        = number
  default     = 120

  validation {
    condition     = var.timeout_seconds >= 3 && var.timeout_seconds <= 900
    error_message = "timeout_seconds must be between 3 and 900."
  }
}

variable "memory_mb" {
  description = "Function memory in MB."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_mb >= 128 && var.memory_mb <= 10240
    error_message = "memory_mb must be between 128 and 10240."
  }
}

variable "environment_variables" {
  description = "Environment of the function: LAKE_BUCKET, TRAINING_IMAGE_URI, TRAINING_ROLE_ARN, TRAINING_INSTANCE_TYPE, ..."
  type        = map(string)

  validation {
    condition     = alltrue([for k in ["LAKE_BUCKET", "TRAINING_IMAGE_URI", "TRAINING_ROLE_ARN", "TRAINING_INSTANCE_TYPE"] : contains(keys(var.environment_variables), k)])
    error_message = "environment_variables must define LAKE_BUCKET, TRAINING_IMAGE_URI, TRAINING_ROLE_ARN and TRAINING_INSTANCE_TYPE."
  }
}

variable "bucket_arn" {
  description = "ARN of the data lake bucket."
  type        = string

  validation {
    condition     = startswith(var.bucket_arn, "arn:")
    error_message = "bucket_arn must be an S3 bucket ARN."
  }
}

variable "read_prefixes" {
  description = "Lake prefixes the function reads (the final partition it checks, the model archive)."
  type        = list(string)
  default     = ["final/", "models/"]

  validation {
    condition     = alltrue([for p in var.read_prefixes : endswith(p, "/") && !startswith(p, "/")])
    error_message = "read_prefixes must be relative prefixes ending with '/'."
  }
}

variable "write_prefixes" {
  description = "Lake prefixes the function publishes into (replaced atomically: put, copy and delete)."
  type        = list(string)
  default     = ["models/", "predictions/"]

  validation {
    condition     = alltrue([for p in var.write_prefixes : endswith(p, "/") && !startswith(p, "/")])
    error_message = "write_prefixes must be relative prefixes ending with '/'."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key for the lake objects, the environment variables and the log group."
  type        = string

  validation {
    condition     = startswith(var.kms_key_arn, "arn:")
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "role_name" {
  description = "Name of the function's role, created by infra/bootstrap (<project>-<env>-pipeline, trusted only by Lambda); this module writes its inline policy."
  type        = string

  validation {
    condition     = can(regex("^[\\w+=,.@-]{1,64}$", var.role_name))
    error_message = "role_name must be a valid IAM role name (1-64 characters)."
  }
}

variable "permissions_boundary_arn" {
  description = "Managed policy the function's role must carry (ipeacast-<env>-boundary, created by infra/bootstrap); the plan fails if the role lacks it."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:[a-z-]+:iam::[0-9]{12}:policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM managed policy ARN."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace the publish action puts the pipeline's metrics in (LiveMaeRatio); the only namespace the function may write."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be a custom CloudWatch namespace (not AWS/...)."
  }
}
