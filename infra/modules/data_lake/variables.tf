variable "bucket_name" {
  description = "Name of the data lake bucket (raw/, interim/, final/, models/, predictions/, artifacts/, reports/)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name: 3-63 lowercase letters, digits, dots or hyphens."
  }
}

variable "log_bucket_name" {
  description = "Name of the bucket that receives the S3 server access logs of the lake bucket."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.log_bucket_name))
    error_message = "log_bucket_name must be a valid S3 bucket name: 3-63 lowercase letters, digits, dots or hyphens."
  }
}

variable "kms_alias" {
  description = "Alias of the customer managed KMS key that encrypts the lake and every other resource of the environment (without the alias/ prefix)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_-]{1,250}$", var.kms_alias)) && !startswith(var.kms_alias, "aws/")
    error_message = "kms_alias may contain letters, digits, '/', '_' and '-', and must not start with aws/."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before a scheduled KMS key deletion takes effect."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced or deleted object version is kept before it expires (recovery window)."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "interim_expiration_days" {
  description = "Days objects under interim/ are kept (interim data can always be rebuilt from raw/)."
  type        = number
  default     = 30

  validation {
    condition     = var.interim_expiration_days >= 1
    error_message = "interim_expiration_days must be at least 1."
  }
}

variable "access_log_expiration_days" {
  description = "Days S3 server access logs are kept in the log bucket."
  type        = number
  default     = 90

  validation {
    condition     = var.access_log_expiration_days >= 1
    error_message = "access_log_expiration_days must be at least 1."
  }
}

variable "force_destroy" {
  description = "Allow Terraform to delete the buckets even when they still hold objects (only for throw-away environments)."
  type        = bool
  default     = false
}

variable "smoke_expiration_days" {
  description = "Days objects under smoke/ (the zone layout of smoke runs) are kept."
  type        = number
  default     = 7

  validation {
    condition     = var.smoke_expiration_days >= 1
    error_message = "smoke_expiration_days must be at least 1."
  }
}
