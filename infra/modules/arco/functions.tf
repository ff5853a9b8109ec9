# The five entry points of functions/main.py, one Cloud Function (2nd gen) each, all built from
# the same source archive. None allows unauthenticated calls: Cloud Run IAM admits only the
# invokers of iam.tf, and each function verifies the caller's ID token again itself
# (ARCO_AUDIENCE, ARCO_INVOKERS, ARCO_ADMINS).
resource "google_cloudfunctions2_function" "function" {
  # checkov:skip=CKV_GCP_124: only the api instance uses ALLOW_ALL (var.api_ingress): people and CI call it from outside the project. Every call still needs roles/run.invoker (admins and api_invokers only, never allUsers) and a Google-signed ID token that Arco verifies and maps to a workspace role. The four engines default to ALLOW_INTERNAL_ONLY (var.engine_ingress).
  for_each = local.functions

  project     = var.project_id
  location    = var.region
  name        = local.function_names[each.key]
  description = each.value.description
  labels      = local.labels

  build_config {
    runtime           = "python311"
    entry_point       = each.key
    service_account   = coalesce(var.build_service_account, google_service_account.build.id)
    docker_repository = coalesce(var.docker_repository, google_artifact_registry_repository.functions.id)

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.function[each.key].email
    available_memory                 = each.value.memory
    available_cpu                    = "1"
    timeout_seconds                  = each.value.timeout
    min_instance_count               = 0
    max_instance_count               = each.value.max_instances
    max_instance_request_concurrency = 1
    ingress_settings                 = each.value.ingress
    all_traffic_on_latest_revision   = true
    environment_variables            = local.function_env[each.key]
  }

  lifecycle {
    # The platform adds LOG_EXECUTION_ID to the runtime environment of 2nd gen functions; it
    # is not Arco's to manage (the environment set here is exactly FUNCTION_ENV).
    ignore_changes = [service_config[0].environment_variables["LOG_EXECUTION_ID"]]
  }

  depends_on = [
    google_project_service.apis,
    # A function must be able to reach the store from its first request.
    google_storage_bucket_iam_member.store,
    # The build needs its identity's permissions before it starts.
    google_artifact_registry_repository_iam_member.build,
    google_storage_bucket_iam_member.build_reads_source,
    google_project_iam_member.build_logs,
  ]
}

# The identity Cloud Build builds the functions as. The platform's default (the Compute Engine
# default account in projects created since mid 2024) may lack these permissions where the org
# policy iam.automaticIamGrantsForDefaultServiceAccounts is enforced, and does not exist until
# the Compute API is on: a dedicated account works in every project.
resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-build"
  display_name = "Arco function builds"
  description  = "Cloud Build identity for the Arco functions"

  depends_on = [google_project_service.apis]
}

resource "google_artifact_registry_repository" "functions" {
  # checkov:skip=CKV_GCP_84: the images are rebuilt from the source archive on every deploy and hold no data; Google-managed encryption is enough.
  project       = var.project_id
  location      = var.region
  repository_id = "${var.name_prefix}-functions"
  format        = "DOCKER"
  description   = "Images of the Arco functions (built by Cloud Build)"
  labels        = local.labels

  depends_on = [google_project_service.apis]
}

resource "google_artifact_registry_repository_iam_member" "build" {
  project    = var.project_id
  location   = var.region
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.build.email}"
}

resource "google_storage_bucket_iam_member" "build_reads_source" {
  bucket = google_storage_bucket.source.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.build.email}"
}

# The one project-level grant: log writing exists only at project level, and only the build
# identity has it (builds must write their logs). No runtime identity holds a project role.
resource "google_project_iam_member" "build_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.build.email}"
}
