data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  training_log_group_arn = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/sagemaker/TrainingJobs"
}

# The execution role is created by infra/bootstrap (trusted only by SageMaker); its policy is
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
    sid       = "ListTrainingPrefixes"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [for p in concat(var.read_prefixes, var.write_prefixes) : "${p}*"]
    }
  }

  statement {
    sid       = "ReadTrainingInput"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = [for p in var.read_prefixes : "${var.bucket_arn}/${p}*"]
  }

  statement {
    sid       = "WriteModelOutput"
    effect    = "Allow"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = [for p in var.write_prefixes : "${var.bucket_arn}/${p}*"]
  }

  statement {
    sid       = "UseLakeKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }

  # SageMaker encrypts the job's volumes with a grant it creates; no grant to anyone else.
  statement {
    sid       = "GrantLakeKeyToSageMaker"
    effect    = "Allow"
    actions   = ["kms:CreateGrant"]
    resources = [var.kms_key_arn]

    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }

  statement {
    sid    = "PullTrainingImage"
    effect = "Allow"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [var.ecr_repository_arn]
  }

  statement {
    sid       = "AuthenticateToEcr"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource type.
  }

  statement {
    sid    = "WriteTrainingLogs"
    effect = "Allow"
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:DescribeLogStreams",
      "logs:PutLogEvents",
    ]
    resources = [local.training_log_group_arn, "${local.training_log_group_arn}:*"]
  }

  statement {
    sid       = "PublishTrainingMetrics"
    effect    = "Allow"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"] # PutMetricData has no resource type; the namespace condition scopes it.

    condition {
      test     = "StringLike"
      variable = "cloudwatch:namespace"
      values   = ["/aws/sagemaker/*"]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "training"
  role   = data.aws_iam_role.this.name
  policy = data.aws_iam_policy_document.this.json
}
