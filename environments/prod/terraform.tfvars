aws_region  = "us-east-1"
environment = "prod"
repository  = "ipeacast/ipeacast"

series_codes        = ["EIA366_PBRENT366"]
schedule_expression = "cron(0 9 ? * MON-FRI *)" # every business day, after the EIA daily update
schedule_enabled    = true
alarm_emails        = []

log_retention_days                 = 90
noncurrent_version_expiration_days = 180
glue_execution_class               = "FLEX"
glue_timeout_minutes               = 15
training_instance_type             = "ml.m5.large"
training_use_spot                  = true
force_destroy                      = false
