# S3 backend with S3-native locking (a .tflock object next to the state); no DynamoDB table.
# The bucket (created by infra/bootstrap, its name holds the account id) and the region are given at
# init, never committed:
#   terraform init -backend-config="bucket=$TF_STATE_BUCKET" -backend-config="region=$AWS_REGION"
terraform {
  backend "s3" {
    key          = "ipeacast/dev/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}
