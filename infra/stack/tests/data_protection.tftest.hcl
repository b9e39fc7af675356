# The lake bucket policy of a protected environment (force_destroy = false, prod): raw/ is the
# immutable record, and no principal may delete it.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333" }
  }

  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }

  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }

  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }

  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::ipeacast-prod-lake-111122223333" }
  }

  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:us-east-1:111122223333:key/mocked" }
  }
}

variables {
  bucket_name     = "ipeacast-prod-lake-111122223333"
  log_bucket_name = "ipeacast-prod-logs-111122223333"
  kms_alias       = "alias/ipeacast-prod"
}

run "protected_lake_denies_deleting_raw" {
  command = apply

  module {
    source = "../modules/data_lake"
  }

  variables {
    force_destroy = false
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.lake.statement : s if s.sid == "DenyDeletingRaw"]) == 1
    error_message = "A protected lake must have the DenyDeletingRaw statement."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.lake.statement : alltrue([
        s.effect == "Deny",
        toset(s.actions) == toset(["s3:DeleteObject", "s3:DeleteObjectVersion"]),
        toset(s.resources) == toset(["arn:aws:s3:::ipeacast-prod-lake-111122223333/raw/*"]),
        [for p in s.principals : "${p.type}=${join(",", p.identifiers)}"] == ["*=*"],
        length(s.condition) == 0,
      ]) if s.sid == "DenyDeletingRaw"
    ])
    error_message = "DenyDeletingRaw must deny every principal deleting raw/ objects or their versions, unconditionally."
  }
}

run "disposable_lake_can_be_emptied" {
  command = apply

  module {
    source = "../modules/data_lake"
  }

  variables {
    force_destroy = true
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.lake.statement : s if s.sid == "DenyDeletingRaw"]) == 0
    error_message = "A disposable lake (force_destroy) must stay deletable: no raw/ deny."
  }
}
