output "state_bucket" {
  description = "Terraform state bucket (terraform init -backend-config=bucket=...; GitHub variable TF_STATE_BUCKET)."
  value       = aws_s3_bucket.state.bucket
}

output "state_kms_key_arn" {
  description = "KMS key of the state bucket."
  value       = aws_kms_key.state.arn
}

output "oidc_provider_arn" {
  description = "GitHub Actions OIDC identity provider."
  value       = local.oidc_provider_arn
}

output "deploy_role_arns" {
  description = "Deploy role per environment (GitHub environment variable AWS_ROLE_ARN)."
  value       = { for env, role in aws_iam_role.deploy : env => role.arn }
}

output "plan_role_arns" {
  description = "Read-only plan role per environment (GitHub repository variables AWS_PLAN_ROLE_ARN_DEV, AWS_PLAN_ROLE_ARN_PROD)."
  value       = { for env, role in aws_iam_role.plan : env => role.arn }
}

output "trust_subjects" {
  description = "The OIDC sub claims each role accepts (for tests and review)."
  value = {
    deploy = local.deploy_subjects
    plan   = local.plan_subjects
  }
}

output "iam_policy_statements" {
  description = "Statements of every policy document of this root (for tests and review)."
  value = merge(
    { state_key = data.aws_iam_policy_document.state_key.statement },
    { state_bucket = data.aws_iam_policy_document.state_bucket.statement },
    { for env, doc in data.aws_iam_policy_document.plan_trust : "plan_trust.${env}" => doc.statement },
    { for env, doc in data.aws_iam_policy_document.plan : "plan.${env}" => doc.statement },
    { for env, doc in data.aws_iam_policy_document.deploy_trust : "deploy_trust.${env}" => doc.statement },
    { for env, doc in data.aws_iam_policy_document.deploy : "deploy.${env}" => doc.statement },
    { for env, doc in data.aws_iam_policy_document.boundary : "boundary.${env}" => doc.statement },
  )
}

output "permissions_boundary_arns" {
  description = "Permissions boundary per environment; every stack role carries it (environments derive the same ARN from the account id)."
  value       = { for env, policy in aws_iam_policy.boundary : env => policy.arn }
}
