terraform {
  # 1.9: variable validations may refer to other variables (workspace in workspaces).
  required_version = ">= 1.9"

  required_providers {
    google = {
      source = "hashicorp/google"
      # tests/fixtures/terraform/google_provider_schema.json is extracted from 6.50.0: the
      # offline checker (scripts/check_terraform.py) validates this module against it.
      version = ">= 6.50, < 7.0"
    }
  }
}
