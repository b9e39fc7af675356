output "bucket_name" {
  description = "Name of the data lake bucket."
  value       = aws_s3_bucket.lake.bucket
}

output "bucket_arn" {
  description = "ARN of the data lake bucket."
  value       = aws_s3_bucket.lake.arn
}

output "lake_uri" {
  description = "Lake root URI as the pipeline expects it (s3://bucket)."
  value       = "s3://${aws_s3_bucket.lake.bucket}"
}

output "log_bucket_name" {
  description = "Name of the access log bucket."
  value       = aws_s3_bucket.logs.bucket
}

output "kms_key_arn" {
  description = "ARN of the environment's customer managed KMS key."
  value       = aws_kms_key.this.arn
}

output "kms_key_rotation_enabled" {
  description = "Whether automatic rotation is enabled on the KMS key."
  value       = aws_kms_key.this.enable_key_rotation
}

output "security_settings" {
  description = "Encryption, versioning and public access settings of both buckets (for tests and review)."
  value = {
    for name, cfg in {
      lake = {
        sse     = aws_s3_bucket_server_side_encryption_configuration.lake
        version = aws_s3_bucket_versioning.lake
        pab     = aws_s3_bucket_public_access_block.lake
      }
      logs = {
        sse     = aws_s3_bucket_server_side_encryption_configuration.logs
        version = aws_s3_bucket_versioning.logs
        pab     = aws_s3_bucket_public_access_block.logs
      }
    } :
    name => {
      sse_algorithm     = one(one(cfg.sse.rule).apply_server_side_encryption_by_default).sse_algorithm
      kms_master_key_id = one(one(cfg.sse.rule).apply_server_side_encryption_by_default).kms_master_key_id
      versioning_status = one(cfg.version.versioning_configuration).status
      public_access_block = {
        block_public_acls       = cfg.pab.block_public_acls
        block_public_policy     = cfg.pab.block_public_policy
        ignore_public_acls      = cfg.pab.ignore_public_acls
        restrict_public_buckets = cfg.pab.restrict_public_buckets
      }
    }
  }
}

output "iam_policy_statements" {
  description = "Statements of every policy document in this module, by document (for tests and review)."
  value = {
    kms_key     = data.aws_iam_policy_document.kms.statement
    lake_bucket = data.aws_iam_policy_document.lake.statement
    log_bucket  = data.aws_iam_policy_document.logs.statement
  }
}

output "iam_policy_json" {
  description = "Rendered JSON of every policy document in this module, by document (for tests and review)."
  value = {
    kms_key     = data.aws_iam_policy_document.kms.json
    lake_bucket = data.aws_iam_policy_document.lake.json
    log_bucket  = data.aws_iam_policy_document.logs.json
  }
}

output "lifecycle_rules" {
  description = "Lifecycle rules of the lake bucket: id => prefix, expiration days, noncurrent days (for tests and review)."
  value = {
    for r in aws_s3_bucket_lifecycle_configuration.lake.rule : r.id => {
      prefix          = try(one(r.filter).prefix, null)
      expiration_days = try(one(r.expiration).days, null)
      noncurrent_days = try(one(r.noncurrent_version_expiration).noncurrent_days, null)
    }
  }
}
