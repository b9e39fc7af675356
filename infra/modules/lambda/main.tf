data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id    = data.aws_caller_identity.current.account_id
  partition     = data.aws_partition.current.partition
  region        = data.aws_region.current.name
  log_group     = "/aws/lambda/${var.function_name}"
  log_group_arn = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group}"
  from_file     = var.package_path != null
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is set per environment (log_retention_days: 14 dev, 90 prod); these are debugging logs of a batch whose durable record is the lake and the SNS alerts.
  name              = local.log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

# The function's role is created by infra/bootstrap (trusted only by Lambda); its policy is
# written here.
data "aws_iam_role" "this" {
  name = var.role_name

  lifecycle {
    postcondition {
      condition     = self.permissions_boundary == var.permissions_boundary_arn
      error_message = "Role ${var.role_name} must carry the permissions boundary ${var.permissions_boundary_arn} (infra/bootstrap creates it so)."
    }
  }
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "WriteOwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }

  statement {
    sid       = "WriteTraces"
    effect    = "Allow"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"] # X-Ray trace APIs have no resource type.
  }

  statement {
    sid       = "ListLakePrefixes"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [for p in distinct(concat(var.read_prefixes, var.write_prefixes)) : "${p}*"]
    }
  }

  statement {
    sid       = "ReadInputs"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = [for p in distinct(concat(var.read_prefixes, var.write_prefixes)) : "${var.bucket_arn}/${p}*"]
  }

  statement {
    sid       = "PublishOutputs"
    effect    = "Allow"
    actions   = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = [for p in var.write_prefixes : "${var.bucket_arn}/${p}*"]
  }

  statement {
    sid       = "PutPipelineMetrics"
    effect    = "Allow"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"] # PutMetricData has no resource type; the namespace condition scopes it.

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metrics_namespace]
    }
  }

  statement {
    sid       = "UseLakeKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "pipeline-actions"
  role   = data.aws_iam_role.this.name
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_115:Reserved concurrency would take from the account pool (10 on new accounts, below which AWS refuses); one run calls this twice, sequentially.
  #checkov:skip=CKV_AWS_116:Invoked synchronously by Step Functions, which retries and catches every failure; a DLQ only applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:Only calls S3 over the public endpoint; a VPC would need NAT or endpoints that cost more than the whole run.
  #checkov:skip=CKV_AWS_272:The zip is built reproducibly by make package and its hash is pinned in the plan; Signer adds a paid profile for no extra guarantee here.
  function_name = var.function_name
  description   = var.description
  role          = data.aws_iam_role.this.arn
  handler       = var.handler
  runtime       = var.runtime
  architectures = ["x86_64"]
  timeout       = var.timeout_seconds
  memory_size   = var.memory_mb
  kms_key_arn   = var.kms_key_arn

  filename         = local.from_file ? var.package_path : null
  source_code_hash = local.from_file ? filebase64sha256(var.package_path) : null
  s3_bucket        = local.from_file ? null : var.s3_bucket
  s3_key           = local.from_file ? null : var.s3_key

  environment {
    variables = var.environment_variables
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]

  lifecycle {
    precondition {
      condition     = var.package_path != null || (var.s3_bucket != null && var.s3_key != null)
      error_message = "Set package_path (local zip from make package) or both s3_bucket and s3_key."
    }
  }
}
