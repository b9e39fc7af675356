data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  lake_uri  = "s3://${var.bucket_name}"
  log_group = "/aws-glue/jobs/${var.name_prefix}"
  # The job's own log group (continuous logging) and the account's shared Glue groups (stdout,
  # stderr of the runs): never another environment's group.
  log_group_arns = [
    for group in [local.log_group, "/aws-glue/jobs/output", "/aws-glue/jobs/error", "/aws-glue/jobs/logs-v2"] :
    "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${group}"
  ]

  # Arguments every job receives. Per run the state machine passes --series, --run_date, --run_id
  # and --lake_prefix (a smoke run's zones live under smoke/); it never passes --as_of (the scripts
  # accept it for manual runs). --lake_prefix defaults to "" (the lake root) so the key always exists.
  #
  # --additional-python-modules installs our wheel and the dependency wheels Glue 5.0 does not
  # bundle (ipeadatapy), all from their content-addressed artifacts/ keys. The installer options:
  # --no-deps stops pip from resolving the wheels' pins (pandas, numpy, pyarrow, boto3, requests)
  # and reinstalling them over the versions Glue ships; --no-index stops it from ever reaching
  # PyPI, so a module missing from the list fails the job start instead of being fetched
  # unverified. See README.md.
  python_modules = [for key in concat([var.wheel_key], var.dependency_wheel_keys) : "${local.lake_uri}/${key}"]

  default_arguments = merge(
    {
      "--job-language"                     = "python"
      "--lake"                             = local.lake_uri
      "--lake_prefix"                      = ""
      "--additional-python-modules"        = join(",", local.python_modules)
      "--python-modules-installer-option"  = "--no-deps --no-index"
      "--TempDir"                          = "${local.lake_uri}/tmp/glue/"
      "--enable-continuous-cloudwatch-log" = "true"
      "--continuous-log-logGroup"          = local.log_group
      "--enable-metrics"                   = "true"
    },
    var.extra_default_arguments,
  )

  # Zone prefixes the role reaches, under the lake root and under every extra root (smoke/).
  raw_prefixes     = [for root in var.lake_roots : "${root}raw/"]
  rewrite_prefixes = flatten([for root in var.lake_roots : ["${root}interim/", "${root}final/"]])
  list_prefixes    = concat(local.raw_prefixes, local.rewrite_prefixes, ["artifacts/", "tmp/glue/"])

  # The table declarations shared with the Python library (src/ipeacast/core/schemas/*.json).
  schemas = { for name, zone in var.tables : name => jsondecode(file("${var.schema_dir}/${name}.json")) }

  # JSON schema types -> Hive/Athena types.
  hive_types = {
    string  = "string"
    date    = "date"
    int     = "int"
    bigint  = "bigint"
    double  = "double"
    boolean = "boolean"
  }
}

################################################################################
# Jobs
################################################################################

# No Glue security configuration: it has no IAM resource type, so whoever may delete one
# environment's may delete every environment's (issue 11). What it would add is already there:
# the lake bucket encrypts every object with the environment's key by default (SSE-KMS, bucket
# key), the job log group below is encrypted with that key, and the jobs use no bookmarks.
resource "aws_cloudwatch_log_group" "jobs" {
  #checkov:skip=CKV_AWS_338:Retention is set per environment (log_retention_days: 14 dev, 90 prod); these are debugging logs of a batch whose durable record is the lake and the SNS alerts.
  name              = local.log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_glue_job" "this" {
  #checkov:skip=CKV_AWS_195:No security configuration on purpose (see above): objects are SSE-KMS by the bucket's default, logs by the log group's key.
  for_each = var.jobs

  name              = "${var.name_prefix}-${each.key}"
  description       = each.value.description
  role_arn          = data.aws_iam_role.job.arn
  glue_version      = "5.0"
  worker_type       = each.value.worker_type
  number_of_workers = each.value.number_of_workers
  timeout           = each.value.timeout_minutes
  max_retries       = 0 # the state machine retries transient failures, with backoff
  execution_class   = var.execution_class
  default_arguments = local.default_arguments

  command {
    name            = "glueetl"
    python_version  = "3"
    script_location = "${local.lake_uri}/${each.value.script_key}"
  }

  execution_property {
    max_concurrent_runs = var.max_concurrent_runs
  }
}

################################################################################
# Job role: created by infra/bootstrap (trusted only by Glue), its policy written here
################################################################################

data "aws_iam_role" "job" {
  name = var.role_name

  lifecycle {
    postcondition {
      condition     = self.permissions_boundary == var.permissions_boundary_arn
      error_message = "Role ${var.role_name} must carry the permissions boundary ${var.permissions_boundary_arn} (infra/bootstrap creates it so)."
    }
  }
}

data "aws_iam_policy_document" "job" {
  statement {
    sid       = "ListLakeZones"
    effect    = "Allow"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = flatten([for p in local.list_prefixes : ["${p}*", trimsuffix(p, "/")]])
    }
  }

  statement {
    sid       = "ReadArtifacts"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${var.bucket_arn}/artifacts/*"]
  }

  # raw/ is immutable: a snapshot is written once and never replaced or deleted (versioning keeps
  # any overwritten _latest.json pointer).
  statement {
    sid       = "ReadWriteRawOnce"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = [for p in local.raw_prefixes : "${var.bucket_arn}/${p}*"]
  }

  # interim/ and final/ are published by staging and replacing a partition (copy + delete).
  statement {
    sid       = "ReadWriteRebuiltZones"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = [for p in concat(local.rewrite_prefixes, ["tmp/glue/"]) : "${var.bucket_arn}/${p}*"]
  }

  statement {
    sid       = "UseLakeKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid    = "WriteJobLogs"
    effect = "Allow"
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = flatten([for arn in local.log_group_arns : [arn, "${arn}:*"]])
  }

  statement {
    sid       = "PublishJobMetrics"
    effect    = "Allow"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"] # PutMetricData has no resource type; the namespace condition scopes it.

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["Glue"]
    }
  }

  statement {
    sid    = "ReadCatalogTables"
    effect = "Allow"
    actions = [
      "glue:GetDatabase",
      "glue:GetTable",
      "glue:GetTables",
      "glue:GetPartition",
      "glue:GetPartitions",
    ]
    resources = [
      "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
      aws_glue_catalog_database.this.arn,
      "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${var.database_name}/*",
    ]
  }
}

resource "aws_iam_role_policy" "job" {
  name   = "lake-etl"
  role   = data.aws_iam_role.job.name
  policy = data.aws_iam_policy_document.job.json
}

################################################################################
# Data Catalog: database and tables declared by the JSON schemas
################################################################################

resource "aws_glue_catalog_database" "this" {
  name        = var.database_name
  description = "ipeacast lake tables (${var.name_prefix}); partitions found by projection, no crawler"
}

resource "aws_glue_catalog_table" "this" {
  for_each = local.schemas

  name          = each.key
  database_name = aws_glue_catalog_database.this.name
  description   = each.value.description
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    EXTERNAL           = "TRUE"
    classification     = "parquet"
    "parquet.compress" = "SNAPPY"

    # Partition projection: Athena computes partitions from these rules, so neither a crawler nor
    # MSCK REPAIR is needed after a run publishes a new partition.
    "projection.enabled"                = "true"
    "projection.series.type"            = "enum"
    "projection.series.values"          = join(",", var.series_codes)
    "projection.run_date.type"          = "date"
    "projection.run_date.format"        = "yyyy-MM-dd"
    "projection.run_date.range"         = "${var.projection_start_date},NOW"
    "projection.run_date.interval"      = "1"
    "projection.run_date.interval.unit" = "DAYS"
    "storage.location.template"         = "s3://${var.bucket_name}/${var.tables[each.key]}/series=$${series}/run_date=$${run_date}/"
  }

  dynamic "partition_keys" {
    for_each = each.value.partition_keys
    content {
      name    = partition_keys.value.name
      type    = local.hive_types[partition_keys.value.type]
      comment = lookup(partition_keys.value, "comment", null)
    }
  }

  storage_descriptor {
    location      = "s3://${var.bucket_name}/${var.tables[each.key]}/"
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      name                  = "parquet"
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
      parameters = {
        "serialization.format" = "1"
      }
    }

    dynamic "columns" {
      for_each = each.value.columns
      content {
        name    = columns.value.name
        type    = local.hive_types[columns.value.type]
        comment = lookup(columns.value, "comment", null)
      }
    }
  }
}
