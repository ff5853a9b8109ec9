# Cloud Tasks queues. Tasks are created by Arco itself (arco.cloud.tasks), named
# deterministically so that Cloud Tasks refuses duplicates, and carry an OIDC token of the
# tasks identity for the target function's URL. Queue names cannot be reused for 7 days after
# a queue is deleted (see infra/README.md, "Destroy").

# The timer chain: each timer call schedules its successor at the next slot, and workers nudge
# the timer when a task ends. A failed call (the function answers 5xx when it could not
# schedule its successor) is retried with backoff; if every attempt fails, the chain is
# restarted by the Cloud Scheduler backstop.
resource "google_cloud_tasks_queue" "timer" {
  project  = var.project_id
  location = var.region
  name     = "${var.name_prefix}-timer"

  rate_limits {
    max_dispatches_per_second = 10
    # No more at once than the timer can take (one request per instance): a burst of nudges
    # would otherwise meet 429s and spend the chain task's attempts.
    max_concurrent_dispatches = local.functions.timer.max_instances
  }

  retry_config {
    max_attempts  = 5
    min_backoff   = "5s"
    max_backoff   = "60s"
    max_doublings = 3
  }

  stackdriver_logging_config {
    sampling_ratio = 1.0
  }

  depends_on = [google_project_service.apis]
}

# Task orders and poll-sensor evaluations for the worker. Retries here cover the platform
# (429 while the worker scales, 503, a lost instance): a redelivered order never runs asset code
# twice (attempt claims), and a failed asset is retried by Arco itself as a new attempt (the
# workspace settings runs.task_max_retries and runs.task_retry_delay_seconds), not by this queue.
resource "google_cloud_tasks_queue" "worker" {
  project  = var.project_id
  location = var.region
  name     = "${var.name_prefix}-worker"

  rate_limits {
    max_dispatches_per_second = 20
    max_concurrent_dispatches = var.worker_max_concurrent_dispatches
  }

  retry_config {
    max_attempts       = 10
    min_backoff        = "10s"
    max_backoff        = "300s"
    max_doublings      = 4
    max_retry_duration = "3600s"
  }

  stackdriver_logging_config {
    sampling_ratio = 1.0
  }

  depends_on = [google_project_service.apis]
}
