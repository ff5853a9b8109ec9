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
    service_account   = var.build_service_account
    docker_repository = var.docker_repository

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
  ]
}
