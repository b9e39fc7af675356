output "role_arn" {
  description = "ARN of the SageMaker training execution role (passed to CreateTrainingJob)."
  value       = data.aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the SageMaker training execution role."
  value       = data.aws_iam_role.this.name
}

output "iam_policy_statements" {
  description = "Statements of every policy document in this module, by document (for tests and review)."
  value = {
    training = data.aws_iam_policy_document.this.statement
  }
}

output "iam_policy_json" {
  description = "Rendered JSON of every policy document in this module, by document (for tests and review)."
  value = {
    training = data.aws_iam_policy_document.this.json
  }
}

output "role_permissions_boundaries" {
  description = "Permissions boundary of every role of this module, by role name (for tests and review)."
  value       = { (data.aws_iam_role.this.name) = data.aws_iam_role.this.permissions_boundary }
}
