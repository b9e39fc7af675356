variable "repository_name" {
  description = "Name of the ECR repository for the SageMaker training image."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.repository_name)) && length(var.repository_name) <= 256
    error_message = "repository_name must be lowercase letters, digits and . _ - / separators (ECR naming rules)."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer managed KMS key that encrypts the images."
  type        = string

  validation {
    condition     = startswith(var.kms_key_arn, "arn:")
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "keep_tagged_images" {
  description = "Number of tagged images (one per deployed commit) kept for rollback; older ones expire."
  type        = number
  default     = 30

  validation {
    condition     = var.keep_tagged_images >= 1 && var.keep_tagged_images <= 1000
    error_message = "keep_tagged_images must be between 1 and 1000."
  }
}

variable "untagged_expiration_days" {
  description = "Days after which untagged images (failed or superseded pushes) expire."
  type        = number
  default     = 7

  validation {
    condition     = var.untagged_expiration_days >= 1
    error_message = "untagged_expiration_days must be at least 1."
  }
}

variable "force_delete" {
  description = "Allow Terraform to delete the repository while it still holds images (only for throw-away environments)."
  type        = bool
  default     = false
}
