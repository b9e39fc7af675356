output "job_names" {
  description = "Job names keyed by step (extract, transform, load)."
  value       = { for k, job in aws_glue_job.this : k => job.name }
}

output "job_arns" {
  description = "Job ARNs keyed by step."
  value       = { for k, job in aws_glue_job.this : k => job.arn }
}

output "job_settings" {
  description = "Version, size, timeout and default arguments of each job (for tests and review)."
  value = {
    for k, job in aws_glue_job.this : k => {
      glue_version      = job.glue_version
      worker_type       = job.worker_type
      number_of_workers = job.number_of_workers
      timeout           = job.timeout
      execution_class   = job.execution_class
      script_location   = one(job.command).script_location
      default_arguments = job.default_arguments
    }
  }
}

output "role_arn" {
  description = "ARN of the job role (created by infra/bootstrap)."
  value       = data.aws_iam_role.job.arn
}

output "database_name" {
  description = "Glue Data Catalog database of the lake tables."
  value       = aws_glue_catalog_database.this.name
}

output "tables" {
  description = "Catalog tables: name => location, columns and partition keys (for tests and review)."
  value = {
    for k, t in aws_glue_catalog_table.this : k => {
      location       = one(t.storage_descriptor).location
      columns        = [for c in one(t.storage_descriptor).columns : { name = c.name, type = c.type }]
      partition_keys = [for p in t.partition_keys : p.name]
      parameters     = t.parameters
    }
  }
}

output "iam_policy_statements" {
  description = "Statements of every policy document in this module, by document (for tests and review)."
  value = {
    glue_job = data.aws_iam_policy_document.job.statement
  }
}

output "iam_policy_json" {
  description = "Rendered JSON of every policy document in this module, by document (for tests and review)."
  value = {
    glue_job = data.aws_iam_policy_document.job.json
  }
}

output "role_permissions_boundaries" {
  description = "Permissions boundary of every role of this module, by role name (for tests and review)."
  value       = { (data.aws_iam_role.job.name) = data.aws_iam_role.job.permissions_boundary }
}
