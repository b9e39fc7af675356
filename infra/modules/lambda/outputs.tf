output "function_name" {
  description = "Name of the function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the function (what the state machine invokes)."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the function's role (created by infra/bootstrap)."
  value       = data.aws_iam_role.this.arn
}

output "environment_variables" {
  description = "Environment of the function (for tests and review; holds no secret)."
  value       = one(aws_lambda_function.this.environment).variables
}

output "tracing_mode" {
  description = "X-Ray tracing mode of the function."
  value       = one(aws_lambda_function.this.tracing_config).mode
}

output "log_group_name" {
  description = "Log group of the function."
  value       = aws_cloudwatch_log_group.this.name
}

output "iam_policy_statements" {
  description = "Statements of every policy document in this module, by document (for tests and review)."
  value = {
    lambda = data.aws_iam_policy_document.this.statement
  }
}

output "iam_policy_json" {
  description = "Rendered JSON of every policy document in this module, by document (for tests and review)."
  value = {
    lambda = data.aws_iam_policy_document.this.json
  }
}

output "role_permissions_boundaries" {
  description = "Permissions boundary of every role of this module, by role name (for tests and review)."
  value       = { (data.aws_iam_role.this.name) = data.aws_iam_role.this.permissions_boundary }
}
