output "repository_name" {
  description = "Name of the repository."
  value       = aws_ecr_repository.this.name
}

output "repository_arn" {
  description = "ARN of the repository."
  value       = aws_ecr_repository.this.arn
}

output "repository_url" {
  description = "Repository URL (account.dkr.ecr.region.amazonaws.com/name), without a tag."
  value       = aws_ecr_repository.this.repository_url
}

output "image_tag_mutability" {
  description = "Tag mutability of the repository (IMMUTABLE)."
  value       = aws_ecr_repository.this.image_tag_mutability
}
