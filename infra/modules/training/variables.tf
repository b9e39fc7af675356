variable "role_name" {
  description = "Name of the SageMaker training execution role, created by infra/bootstrap (<project>-<env>-training, trusted only by SageMaker); this module writes its inline policy."
  type        = string

  validation {
    condition     = can(regex("^[\\w+=,.@-]{1,64}$", var.role_name))
    error_message = "role_name must be a valid IAM role name (1-64 characters)."
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

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the lake (and the training volume and output)."
  type        = string

  validation {
    condition     = startswith(var.kms_key_arn, "arn:")
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "ecr_repository_arn" {
  description = "ARN of the ECR repository holding the training image."
  type        = string

  validation {
    condition     = startswith(var.ecr_repository_arn, "arn:")
    error_message = "ecr_repository_arn must be an ECR repository ARN."
  }
}

variable "read_prefixes" {
  description = "Lake prefixes the training job reads (its input channel)."
  type        = list(string)
  default     = ["final/"]

  validation {
    condition     = alltrue([for p in var.read_prefixes : endswith(p, "/") && !startswith(p, "/")])
    error_message = "read_prefixes must be relative prefixes ending with '/'."
  }
}

variable "write_prefixes" {
  description = "Lake prefixes the training job writes (SageMaker output path: model.tar.gz, output.tar.gz)."
  type        = list(string)
  default     = ["models/"]

  validation {
    condition     = alltrue([for p in var.write_prefixes : endswith(p, "/") && !startswith(p, "/")])
    error_message = "write_prefixes must be relative prefixes ending with '/'."
  }
}

variable "permissions_boundary_arn" {
  description = "Managed policy the execution role must carry (ipeacast-<env>-boundary, created by infra/bootstrap); the plan fails if the role lacks it."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:[a-z-]+:iam::[0-9]{12}:policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM managed policy ARN."
  }
}
