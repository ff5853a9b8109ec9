# The store: the ledger, the published state, logs and claims of every served workspace.
resource "google_storage_bucket" "store" {
  # checkov:skip=CKV_GCP_62: usage/storage logs are a legacy feature; reads and writes of the store are audited with Cloud Audit Logs (Data Access logs for storage.googleapis.com), enabled at project or organization level.
  count = var.create_store_bucket ? 1 : 0

  project                     = var.project_id
  name                        = var.bucket_name
  location                    = upper(coalesce(var.bucket_location, var.region))
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = local.labels

  versioning {
    enabled = var.store_versioning
  }

  # With versioning, an overwritten pointer or a collected table file stays recoverable for
  # noncurrent_version_retention_days, then goes.
  dynamic "lifecycle_rule" {
    for_each = var.store_versioning ? [1] : []
    content {
      condition {
        days_since_noncurrent_time = var.noncurrent_version_retention_days
        with_state                 = "ARCHIVED"
      }
      action {
        type = "Delete"
      }
    }
  }

  depends_on = [google_project_service.apis]
}

locals {
  # The bucket's name, created here or not: taken from the resource when it is, so that
  # everything using the store waits for it.
  store_bucket = var.create_store_bucket ? google_storage_bucket.store[0].name : var.bucket_name
}

# Function source archives, content-addressed. Separate from the store so that the functions'
# build identity never needs access to the store, and the store's access stays what
# docs/security.md says.
resource "google_storage_bucket" "source" {
  # checkov:skip=CKV_GCP_62: holds only build inputs that are rebuilt from the repository; Cloud Audit Logs cover access.
  # checkov:skip=CKV_GCP_78: archives are immutable and content-addressed (the object name is their MD5) and can be rebuilt with `arco package`; versioning would keep nothing new.
  project                     = var.project_id
  name                        = coalesce(var.source_bucket_name, "${substr(var.bucket_name, 0, 58 - length(var.name_prefix))}-${var.name_prefix}-src")
  location                    = upper(var.region)
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # Only build inputs: nothing here is lost by a destroy.
  force_destroy = true
  labels        = local.labels

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_object" "source" {
  # A new archive gets a new name, which redeploys every function; an unchanged one does not.
  name         = "arco-functions/${filemd5(var.source_archive)}.zip"
  bucket       = google_storage_bucket.source.name
  source       = var.source_archive
  content_type = "application/zip"
}
