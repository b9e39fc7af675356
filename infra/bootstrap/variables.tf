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

variable "deploy_branch" {
  description = "The branch deployments and main-branch plans run from: deploy and plan roles trust only workflow runs of this ref."
  type        = string
  default     = "main"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]+$", var.deploy_branch)) && !strcontains(var.deploy_branch, "*")
    error_message = "deploy_branch must be an exact branch name (no wildcard)."
  }
}

variable "deploy_workflows" {
  description = "Workflow files (in .github/workflows) whose jobs in a GitHub environment may assume that environment's deploy role, when run from deploy_branch."
  type        = list(string)
  default     = ["deploy.yml", "dispatch.yml"]

  validation {
    condition     = length(var.deploy_workflows) > 0 && alltrue([for w in var.deploy_workflows : can(regex("^[A-Za-z0-9._-]+\\.ya?ml$", w))])
    error_message = "deploy_workflows must be workflow file names such as deploy.yml (no path, no wildcard)."
  }
}

variable "plan_workflows" {
  description = "Workflow files whose jobs without an environment, run from deploy_branch, may assume the read-only plan roles (the prod plan before approval, the dispatch plan, the drift check)."
  type        = list(string)
  default     = ["deploy.yml", "dispatch.yml", "drift.yml"]

  validation {
    condition     = length(var.plan_workflows) > 0 && alltrue([for w in var.plan_workflows : can(regex("^[A-Za-z0-9._-]+\\.ya?ml$", w))])
    error_message = "plan_workflows must be workflow file names such as drift.yml (no path, no wildcard)."
  }
}

variable "pull_request_workflow" {
  description = "The workflow file that plans pull requests."
  type        = string
  default     = "pr.yml"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+\\.ya?ml$", var.pull_request_workflow))
    error_message = "pull_request_workflow must be a workflow file name such as pr.yml."
  }
}

variable "pull_request_plan_environments" {
  description = "Environments whose read-only plan role this repository's pull requests may assume. A pull request runs its own version of the workflow, so keep prod out: prod is planned from main only."
  type        = list(string)
  default     = ["dev"]

  validation {
    condition     = alltrue([for e in var.pull_request_plan_environments : contains(var.environments, e) && e != "prod"])
    error_message = "pull_request_plan_environments must be a subset of environments, without prod (prod is planned from main only)."
  }
}

variable "disposable_environments" {
  description = "Environments whose stack sets force_destroy = true (dev). Only their deploy role may delete buckets, objects, object versions, the key and the image repository; every other environment's data is protected from its deploy role."
  type        = list(string)
  default     = ["dev"]

  validation {
    condition     = alltrue([for e in var.disposable_environments : contains(var.environments, e) && e != "prod"])
    error_message = "disposable_environments must be a subset of environments, without prod."
  }
}
