# A complete Arco deployment in one project. Copy this directory, fill in terraform.tfvars
# (see terraform.tfvars.example), build the source archive, then `terraform init && terraform apply`.

terraform {
  required_version = ">= 1.9"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.50, < 7.0"
    }
  }

  # Keep the state somewhere shared, e.g. a bucket of its own (not the store):
  # backend "gcs" {
  #   bucket = "my-terraform-state"
  #   prefix = "arco"
  # }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

module "arco" {
  source = "../../modules/arco"

  project_id     = var.project_id
  region         = var.region
  bucket_name    = var.bucket_name
  source_archive = var.source_archive
  definitions    = var.definitions
  admins         = var.admins
  api_invokers   = var.api_invokers
  workspaces     = var.workspaces
  workspace      = var.workspace
  push_sensors   = var.push_sensors

  timer_interval_seconds = 60
  worker_timeout_seconds = 1800
  compactor_schedule     = "*/10 * * * *"
  compactor_on_write     = false
}
