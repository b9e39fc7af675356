variable "aws_region" {
  description = "Region of the state bucket and of the environments."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-\\d$", var.aws_region))
    error_message = "aws_region must be a region name such as us-east-1."
  }
}

variable "project" {
  description = "Project name; prefix of every name this root creates and of the environment resources the deploy roles may manage."
  type        = string
  default     = "ipeacast"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,15}$", var.project))
    error_message = "project must be 2-16 lowercase letters or digits, starting with a letter."
  }
}

variable "github_owner" {
  description = "GitHub organisation or user that owns the repository."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$", var.github_owner))
    error_message = "github_owner must be a GitHub user or organisation name."
  }
}

variable "github_repo" {
  description = "Name of the GitHub repository (without the owner)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,100}$", var.github_repo))
    error_message = "github_repo must be a GitHub repository name."
  }
}

variable "environments" {
  description = "GitHub environments that deploy; each gets a deploy role trusted only from that environment."
  type        = list(string)
  default     = ["dev", "prod"]

  validation {
    condition     = length(var.environments) > 0 && alltrue([for e in var.environments : can(regex("^[a-z][a-z0-9]{1,7}$", e))])
    error_message = "environments must be names of 2-8 lowercase letters or digits (the same names the stack accepts)."
  }
}

variable "state_bucket_name" {
  description = "Name of the Terraform state bucket; default <project>-tfstate-<account id>-<region>."
  type        = string
  default     = null

  validation {
    condition     = var.state_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be a valid S3 bucket name."
  }
}

variable "create_oidc_provider" {
  description = "Create the GitHub OIDC identity provider (false when the account already has one)."
  type        = bool
  default     = true
}

variable "max_session_duration" {
  description = "Maximum session of the deploy and plan roles, in seconds."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200
    error_message = "max_session_duration must be between 3600 and 43200."
  }
}

variable "plan_role_branches" {
  description = "Branches whose workflow runs (the scheduled drift check) may also assume the read-only plan role, besides pull requests."
  type        = list(string)
  default     = ["main"]

  validation {
    condition     = alltrue([for b in var.plan_role_branches : can(regex("^[A-Za-z0-9._/-]+$", b)) && !strcontains(b, "*")])
    error_message = "plan_role_branches must be exact branch names (no wildcard)."
  }
}
