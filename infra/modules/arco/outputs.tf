output "api_url" {
  description = "URL of the Arco HTTP API (call it with `gcloud auth print-identity-token --audiences=<this URL>`)."
  value       = local.urls.api
}

output "function_urls" {
  description = "URL of each function, by entry point (api, timer, worker, sensor_push, compactor): the audience its callers' ID tokens carry."
  value       = local.urls
}

output "function_names" {
  description = "Cloud Functions name of each function, by entry point."
  value       = { for fn, f in google_cloudfunctions2_function.function : fn => f.name }
}

output "store_url" {
  description = "The store (ARCO_STORE): point the CLI at it with `arco --store <this>`."
  value       = local.store_url
}

output "store_bucket" {
  description = "Name of the store bucket."
  value       = local.store_bucket
}

output "source_bucket" {
  description = "Name of the bucket holding the function source archives."
  value       = google_storage_bucket.source.name
}

output "service_accounts" {
  description = "E-mails of the runtime identity of each function (functions) and of the identities that call them (invokers: tasks, scheduler, push)."
  value = {
    functions = { for fn, sa in google_service_account.function : fn => sa.email }
    invokers  = { for k, sa in google_service_account.invoker : k => sa.email }
  }
}

output "queues" {
  description = "Full names (projects/P/locations/L/queues/Q) of the Cloud Tasks queues."
  value = {
    timer  = google_cloud_tasks_queue.timer.id
    worker = google_cloud_tasks_queue.worker.id
  }
}

output "topics" {
  description = "Pub/Sub topics this module created: the push sensors' dead-letter topic and, with compactor_on_write, the ledger-write notifications (null when not created)."
  value = {
    dead_letter   = one(google_pubsub_topic.dead_letter[*].id)
    ledger_writes = one(google_pubsub_topic.ledger_writes[*].id)
  }
}

output "push_subscriptions" {
  description = "Push subscription of each push sensor, by sensor name."
  value       = { for name, s in google_pubsub_subscription.push_sensor : name => s.id }
}

output "scheduler_jobs" {
  description = "Cloud Scheduler jobs: the timer backstop and the compactor schedule (null when compactor_schedule is null)."
  value = {
    timer_backstop = google_cloud_scheduler_job.timer_backstop.id
    compactor      = one(google_cloud_scheduler_job.compactor[*].id)
  }
}
