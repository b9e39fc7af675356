variable "name_prefix" {
  description = "Prefix of every name in the environment, e.g. ipeacast-dev. Jobs are named <prefix>-<key>."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name_prefix))
    error_message = "name_prefix must be 2-41 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "database_name" {
  description = "Glue Data Catalog database for the lake tables (Athena identifiers: lowercase, digits, underscores)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,254}$", var.database_name))
    error_message = "database_name must be lowercase letters, digits and underscores, starting with a letter."
  }
}

variable "bucket_name" {
  description = "Name of the data lake bucket."
  type        = string
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
  description = "ARN of the KMS key of the lake; encrypts the job log group (the lake bucket encrypts objects with it by default)."
  type        = string

  validation {
    condition     = startswith(var.kms_key_arn, "arn:")
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "jobs" {
  description = "The three pipeline jobs keyed by step. script_key is the S3 key of the job script in the lake bucket."
  type = map(object({
    script_key        = string
    description       = optional(string, "")
    worker_type       = optional(string, "G.1X")
    number_of_workers = optional(number, 2)
    timeout_minutes   = optional(number, 10)
  }))

  validation {
    condition     = toset(keys(var.jobs)) == toset(["extract", "transform", "load"])
    error_message = "jobs must have exactly the keys extract, transform and load."
  }

  validation {
    condition     = alltrue([for j in values(var.jobs) : contains(["G.1X", "G.2X"], j.worker_type)])
    error_message = "worker_type must be G.1X or G.2X (the types Flex execution supports)."
  }

  validation {
    condition     = alltrue([for j in values(var.jobs) : j.number_of_workers >= 2 && j.number_of_workers <= 10])
    error_message = "number_of_workers must be between 2 (the Spark minimum) and 10."
  }

  validation {
    condition     = alltrue([for j in values(var.jobs) : j.timeout_minutes >= 1 && j.timeout_minutes <= 120])
    error_message = "timeout_minutes must be between 1 and 120: a run of this pipeline takes minutes, a stuck job must not bill for the 48-hour default."
  }

  validation {
    condition     = alltrue([for j in values(var.jobs) : can(regex("^[A-Za-z0-9/_.=-]+\\.py$", j.script_key))])
    error_message = "script_key must be an S3 key of a .py script."
  }
}

variable "execution_class" {
  description = "STANDARD or FLEX. FLEX runs on spare capacity at a lower DPU price and may start later; fine for a scheduled batch."
  type        = string
  default     = "FLEX"

  validation {
    condition     = contains(["STANDARD", "FLEX"], var.execution_class)
    error_message = "execution_class must be STANDARD or FLEX."
  }
}

variable "max_concurrent_runs" {
  description = "Maximum concurrent runs of each job (one per series running at the same time)."
  type        = number
  default     = 2

  validation {
    condition     = var.max_concurrent_runs >= 1 && var.max_concurrent_runs <= 10
    error_message = "max_concurrent_runs must be between 1 and 10."
  }
}

variable "wheel_key" {
  description = "S3 key of the ipeacast wheel in the lake bucket, installed by --additional-python-modules."
  type        = string

  validation {
    condition     = endswith(var.wheel_key, ".whl")
    error_message = "wheel_key must point to a .whl file."
  }
}

variable "extra_default_arguments" {
  description = "Additional default arguments for every job (merged over the module's defaults)."
  type        = map(string)
  default     = {}
}

variable "schema_dir" {
  description = "Directory holding the table declarations <table>.json (src/ipeacast/core/schemas), read with jsondecode(file())."
  type        = string

  validation {
    condition     = alltrue([for name in ["final_monthly", "predictions", "accuracy"] : fileexists("${var.schema_dir}/${name}.json")])
    error_message = "schema_dir must contain final_monthly.json, predictions.json and accuracy.json."
  }
}

variable "tables" {
  description = "Catalog tables: schema file name (without .json) => lake zone (prefix) holding the table's partitions."
  type        = map(string)
  default = {
    final_monthly = "final"
    predictions   = "predictions"
    accuracy      = "accuracy"
  }

  validation {
    condition     = alltrue([for zone in values(var.tables) : contains(["raw", "interim", "final", "models", "predictions", "accuracy", "reports"], zone)])
    error_message = "Every table zone must be one of the lake zones raw, interim, final, models, predictions, accuracy, reports."
  }
}

variable "series_codes" {
  description = "Series codes the pipeline runs for; used by partition projection of the series partition key."
  type        = list(string)

  validation {
    condition     = length(var.series_codes) > 0 && alltrue([for s in var.series_codes : can(regex("^[A-Za-z0-9_]+$", s))])
    error_message = "series_codes must be a non-empty list of Ipeadata codes (letters, digits, underscores)."
  }
}

variable "projection_start_date" {
  description = "First run_date partition projection considers (YYYY-MM-DD)."
  type        = string
  default     = "2024-01-01"

  validation {
    condition     = can(regex("^\\d{4}-\\d{2}-\\d{2}$", var.projection_start_date))
    error_message = "projection_start_date must be YYYY-MM-DD."
  }
}

variable "log_retention_days" {
  description = "Retention of the job log groups."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "dependency_wheel_keys" {
  description = "S3 keys in the lake bucket of the dependency wheels installed with ours (what Glue 5.0 does not bundle: `make package` puts them in dist/glue-wheels/, pinned by sha256 in requirements/glue-wheels.txt). Installed with --no-deps --no-index: nothing comes from PyPI."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for k in var.dependency_wheel_keys : can(regex("^artifacts/[0-9a-f]{64}/[A-Za-z0-9_.+-]+\\.whl$", k))])
    error_message = "dependency_wheel_keys must be content-addressed wheel keys artifacts/<sha256>/<name>.whl (no PyPI requirements: the jobs install with --no-index)."
  }
}

variable "lake_roots" {
  description = "Prefixes under which the zone layout lives: \"\" (the lake root) and \"smoke/\" (smoke runs). The role reaches <root>raw/, <root>interim/, <root>final/ for each."
  type        = list(string)
  default     = ["", "smoke/"]

  validation {
    condition     = contains(var.lake_roots, "") && alltrue([for r in var.lake_roots : r == "" || (endswith(r, "/") && !startswith(r, "/"))])
    error_message = "lake_roots must contain \"\" and otherwise relative prefixes ending with '/'."
  }
}

variable "role_name" {
  description = "Name of the job role, created by infra/bootstrap (<project>-<env>-glue, trusted only by Glue); this module writes its inline policy."
  type        = string

  validation {
    condition     = can(regex("^[\\w+=,.@-]{1,64}$", var.role_name))
    error_message = "role_name must be a valid IAM role name (1-64 characters)."
  }
}

variable "permissions_boundary_arn" {
  description = "Managed policy the job role must carry (ipeacast-<env>-boundary, created by infra/bootstrap); the plan fails if the role lacks it."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:[a-z-]+:iam::[0-9]{12}:policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM managed policy ARN."
  }
}
