# Cloud Scheduler jobs, both signed with the scheduler identity's OIDC token for the target's
# URL (the audience each function checks).

# The timer's backstop: whatever happens to the chain of timer tasks, the timer runs at least on
# this schedule, and each call schedules the successor again (deduplicated by task name).
resource "google_cloud_scheduler_job" "timer_backstop" {
  project          = var.project_id
  region           = var.region
  name             = "${var.name_prefix}-timer-backstop"
  description      = "Calls the Arco timer even if its chain of Cloud Tasks breaks"
  schedule         = var.timer_backstop_schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "${local.functions.timer.timeout}s"

  # The next run comes soon enough: no retries.
  retry_config {
    retry_count = 0
  }

  http_target {
    http_method = "POST"
    uri         = local.urls.timer
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode(jsonencode({ backstop = true }))

    oidc_token {
      service_account_email = google_service_account.invoker["scheduler"].email
      audience              = local.urls.timer
    }
  }

  depends_on = [google_project_service.apis, google_cloud_run_v2_service_iam_member.invoker]
}

resource "google_cloud_scheduler_job" "compactor" {
  count = var.compactor_schedule == null ? 0 : 1

  project          = var.project_id
  region           = var.region
  name             = "${var.name_prefix}-compactor"
  description      = "Calls the Arco compactor on a schedule"
  schedule         = var.compactor_schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "${local.functions.compactor.timeout}s"

  retry_config {
    retry_count = 0
  }

  http_target {
    http_method = "POST"
    uri         = local.urls.compactor
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode(jsonencode({ scheduled = true }))

    oidc_token {
      service_account_email = google_service_account.invoker["scheduler"].email
      audience              = local.urls.compactor
    }
  }

  depends_on = [google_project_service.apis, google_cloud_run_v2_service_iam_member.invoker]
}
