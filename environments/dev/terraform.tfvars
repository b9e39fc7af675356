aws_region  = "us-east-1"
environment = "dev"
repository  = "ipeacast/ipeacast"

series_codes        = ["EIA366_PBRENT366"]
schedule_expression = "cron(0 9 ? * MON *)" # weekly in dev: enough to catch breakage
schedule_enabled    = true
alarm_emails        = []

log_retention_days                 = 14
noncurrent_version_expiration_days = 30
glue_execution_class               = "FLEX"
glue_timeout_minutes               = 10
training_instance_type             = "ml.m5.large"
training_use_spot                  = true
force_destroy                      = true
