data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  state_machine_name = "${var.name_prefix}-pipeline"
  training_job_arn   = "arn:${local.partition}:sagemaker:${local.region}:${local.account_id}:training-job/${var.training_job_name_prefix}-*"
  # Step Functions creates this managed rule to learn when a .sync training job ends.
  sagemaker_events_rule_arn = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule"

  # The one state machine template (also rendered by the tests with the same variables).
  definition = templatefile("${path.module}/state_machine.asl.json.tftpl", {
    glue_job_extract            = var.glue_job_names["extract"]
    glue_job_transform          = var.glue_job_names["transform"]
    glue_job_load               = var.glue_job_names["load"]
    prepare_training_lambda_arn = var.lambda_function_arn
    publish_lambda_arn          = var.lambda_function_arn
    failure_topic_arn           = aws_sns_topic.failures.arn
    lake_bucket                 = var.lake_bucket_name
  })
  # FindPublishedForecasts lists <root>predictions/series=<code>/ (MaxKeys 1) under each root.
  forecast_list_prefixes = [for root in var.lake_roots : "${root}predictions/series=*"]
}

################################################################################
# Failure notifications
################################################################################

resource "aws_sns_topic" "failures" {
  name              = "${var.name_prefix}-failures"
  kms_master_key_id = var.kms_key_arn
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.failures.arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_cloudwatch_metric_alarm" "executions_failed" {
  alarm_name          = "${var.name_prefix}-executions-failed"
  alarm_description   = "A ${local.state_machine_name} execution failed, timed out or was aborted."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsFailed"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.failures.arn]

  dimensions = {
    StateMachineArn = aws_sfn_state_machine.this.arn
  }
}

# The live record: each run's publish action puts LiveMaeRatio (realised MAE of the latest
# resolved forecasts / the last-price baseline's on the same targets; ipeacast.ml.accuracy) per
# series. Above the threshold the published model did worse than "no change" lately.
resource "aws_cloudwatch_metric_alarm" "live_accuracy" {
  for_each = toset(var.series_codes)

  alarm_name          = "${var.name_prefix}-live-accuracy-${lower(replace(each.value, "_", "-"))}"
  alarm_description   = "The forecasts published for ${each.value} did worse than the last-price baseline on their latest resolved targets (LiveMaeRatio > ${var.live_mae_ratio_threshold}); see docs/aws.md, Monitoring."
  namespace           = var.metrics_namespace
  metric_name         = "LiveMaeRatio"
  statistic           = "Maximum"
  period              = 86400
  evaluation_periods  = 1
  threshold           = var.live_mae_ratio_threshold
  comparison_operator = "GreaterThanThreshold"
  # Runs are days apart: between two runs there is no data point, and the alarm keeps the state
  # the last run set.
  treat_missing_data = "ignore"
  alarm_actions      = [aws_sns_topic.failures.arn]
  ok_actions         = [aws_sns_topic.failures.arn]

  dimensions = {
    Series = each.value
  }
}

################################################################################
# State machine
################################################################################

resource "aws_cloudwatch_log_group" "sfn" {
  #checkov:skip=CKV_AWS_338:Retention is set per environment (log_retention_days: 14 dev, 90 prod); these are debugging logs of a batch whose durable record is the lake and the SNS alerts.
  # The /aws/vendedlogs/ prefix keeps the CloudWatch Logs resource policy small.
  name              = "/aws/vendedlogs/states/${local.state_machine_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

# The state machine's role is created by infra/bootstrap (trusted only by Step Functions); its
# policy is written here.
data "aws_iam_role" "sfn" {
  name = var.state_machine_role_name

  lifecycle {
    postcondition {
      condition     = self.permissions_boundary == var.permissions_boundary_arn
      error_message = "Role ${var.state_machine_role_name} must carry the permissions boundary ${var.permissions_boundary_arn} (infra/bootstrap creates it so)."
    }
  }
}

# One statement per integration, after terraform-aws-modules/step-functions (locals.tf), scoped to
# this environment's resources.
data "aws_iam_policy_document" "sfn" {
  #checkov:skip=CKV_AWS_111:The log delivery and X-Ray actions have no resource type (AWS requires "*"); every other statement is scoped.
  #checkov:skip=CKV_AWS_356:The log delivery and X-Ray actions have no resource type (AWS requires "*"); every other statement is scoped.
  statement {
    sid       = "GlueSync"
    effect    = "Allow"
    actions   = ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"]
    resources = values(var.glue_job_arns)
  }

  statement {
    sid       = "LambdaInvoke"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = [var.lambda_function_arn, "${var.lambda_function_arn}:*"]
  }

  statement {
    sid    = "SageMakerTrainingSync"
    effect = "Allow"
    actions = [
      "sagemaker:CreateTrainingJob",
      "sagemaker:DescribeTrainingJob",
      "sagemaker:StopTrainingJob",
      "sagemaker:AddTags",
      "sagemaker:ListTags",
    ]
    resources = [local.training_job_arn]
  }

  statement {
    sid       = "PassTrainingRoleToSageMaker"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = [var.training_role_arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["sagemaker.amazonaws.com"]
    }
  }

  statement {
    sid       = "SageMakerSyncEventsRule"
    effect    = "Allow"
    actions   = ["events:PutTargets", "events:PutRule", "events:DescribeRule"]
    resources = [local.sagemaker_events_rule_arn]
  }

  statement {
    sid       = "TrainingVolumeKeyGrant"
    effect    = "Allow"
    actions   = ["kms:CreateGrant", "kms:DescribeKey"]
    resources = [var.kms_key_arn]

    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }

  # FindPublishedForecasts: does this series have forecasts yet (ListObjectsV2, MaxKeys 1)?
  statement {
    sid       = "ListPublishedForecasts"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${var.lake_bucket_name}"]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = local.forecast_list_prefixes
    }
  }

  statement {
    sid       = "PublishFailures"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.failures.arn]
  }

  statement {
    sid       = "EncryptFailureMessages"
    effect    = "Allow"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid    = "DeliverExecutionLogs"
    effect = "Allow"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"] # CloudWatch Logs vended delivery actions have no resource type.
  }

  statement {
    sid    = "WriteTraces"
    effect = "Allow"
    actions = [
      "xray:PutTraceSegments",
      "xray:PutTelemetryRecords",
      "xray:GetSamplingRules",
      "xray:GetSamplingTargets",
    ]
    resources = ["*"] # X-Ray trace APIs have no resource type.
  }
}

resource "aws_iam_role_policy" "sfn" {
  name   = "integrations"
  role   = data.aws_iam_role.sfn.name
  policy = data.aws_iam_policy_document.sfn.json
}

resource "aws_sfn_state_machine" "this" {
  name       = local.state_machine_name
  role_arn   = data.aws_iam_role.sfn.arn
  type       = "STANDARD"
  definition = local.definition

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.sfn.arn}:*"
    include_execution_data = true
    level                  = var.log_level
  }

  tracing_configuration {
    enabled = true
  }

  depends_on = [aws_iam_role_policy.sfn]
}

################################################################################
# Schedule: one EventBridge Scheduler schedule per series
################################################################################

# The scheduler's role is created by infra/bootstrap (trusted only by EventBridge Scheduler); its
# policy is written here.
data "aws_iam_role" "scheduler" {
  name = var.scheduler_role_name

  lifecycle {
    postcondition {
      condition     = self.permissions_boundary == var.permissions_boundary_arn
      error_message = "Role ${var.scheduler_role_name} must carry the permissions boundary ${var.permissions_boundary_arn} (infra/bootstrap creates it so)."
    }
  }
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "StartPipelineExecutions"
    effect    = "Allow"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.this.arn]
  }

  statement {
    sid       = "DecryptScheduleInput"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "start-pipeline"
  role   = data.aws_iam_role.scheduler.name
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule_group" "this" {
  name = var.name_prefix
}

resource "aws_scheduler_schedule" "run" {
  for_each = toset(var.series_codes)

  name                         = "${var.name_prefix}-${lower(replace(each.value, "_", "-"))}"
  group_name                   = aws_scheduler_schedule_group.this.name
  description                  = "Scheduled ipeacast run for ${each.value}"
  schedule_expression          = var.schedule_expression
  schedule_expression_timezone = var.schedule_timezone
  state                        = var.schedule_enabled ? "ENABLED" : "DISABLED"
  kms_key_arn                  = var.kms_key_arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_sfn_state_machine.this.arn
    role_arn = data.aws_iam_role.scheduler.arn
    # run_id and run_date are derived once by the state machine from its start time.
    input = jsonencode({ series = each.value })

    retry_policy {
      maximum_retry_attempts       = 3
      maximum_event_age_in_seconds = 3600
    }
  }
}
