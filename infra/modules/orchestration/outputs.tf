output "state_machine_arn" {
  description = "ARN of the pipeline state machine."
  value       = aws_sfn_state_machine.this.arn
}

output "state_machine_name" {
  description = "Name of the pipeline state machine."
  value       = aws_sfn_state_machine.this.name
}

output "state_machine_role_arn" {
  description = "ARN of the state machine's role (created by infra/bootstrap)."
  value       = data.aws_iam_role.sfn.arn
}

output "definition" {
  description = "The rendered state machine definition (ASL JSON)."
  value       = local.definition
}

output "failure_topic_arn" {
  description = "ARN of the SNS topic that receives failed runs and alarms."
  value       = aws_sns_topic.failures.arn
}

output "schedules" {
  description = "Schedule name, expression, state and input per series."
  value = {
    for k, s in aws_scheduler_schedule.run : k => {
      name       = s.name
      expression = s.schedule_expression
      state      = s.state
      input      = one(s.target).input
    }
  }
}

output "alarm_name" {
  description = "Name of the failed-executions alarm."
  value       = aws_cloudwatch_metric_alarm.executions_failed.alarm_name
}

output "live_accuracy_alarms" {
  description = "The live-accuracy alarm per series: name, namespace, metric, dimensions, threshold."
  value = {
    for k, a in aws_cloudwatch_metric_alarm.live_accuracy : k => {
      name       = a.alarm_name
      namespace  = a.namespace
      metric     = a.metric_name
      dimensions = a.dimensions
      threshold  = a.threshold
      comparison = a.comparison_operator
      actions    = a.alarm_actions
    }
  }
}

output "logging_and_tracing" {
  description = "Logging level/destination and tracing of the state machine (for tests and review)."
  value = {
    level           = one(aws_sfn_state_machine.this.logging_configuration).level
    log_destination = one(aws_sfn_state_machine.this.logging_configuration).log_destination
    tracing_enabled = one(aws_sfn_state_machine.this.tracing_configuration).enabled
  }
}

output "iam_policy_statements" {
  description = "Statements of every policy document in this module, by document (for tests and review)."
  value = {
    sfn       = data.aws_iam_policy_document.sfn.statement
    scheduler = data.aws_iam_policy_document.scheduler.statement
  }
}

output "iam_policy_json" {
  description = "Rendered JSON of every policy document in this module, by document (for tests and review)."
  value = {
    sfn       = data.aws_iam_policy_document.sfn.json
    scheduler = data.aws_iam_policy_document.scheduler.json
  }
}

output "role_permissions_boundaries" {
  description = "Permissions boundary of every role of this module, by role name (for tests and review)."
  value = {
    (data.aws_iam_role.sfn.name)       = data.aws_iam_role.sfn.permissions_boundary
    (data.aws_iam_role.scheduler.name) = data.aws_iam_role.scheduler.permissions_boundary
  }
}
