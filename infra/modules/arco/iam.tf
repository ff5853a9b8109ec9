# Identities and least privilege. Nothing here is granted at project level: every binding is on
# one bucket, one queue, one topic, one subscription, one service account or one function (the
# build identity's log writing, in functions.tf, is the module's only project-level grant).
#
#   runtime identities (one per function)   what the function's code runs as
#   invoker identities                      what signs the ID tokens that call the functions:
#     tasks      Cloud Tasks tasks of both queues (timer chain, nudges, worker orders)
#     scheduler  Cloud Scheduler jobs (timer backstop, compactor schedule)
#     push       Pub/Sub push subscriptions (push sensors, ledger-write notifications)

locals {
  invoker_accounts = {
    tasks     = "Signs Cloud Tasks calls of the timer and the worker"
    scheduler = "Signs Cloud Scheduler calls of the timer and the compactor"
    push      = "Signs Pub/Sub pushes to sensor_push (and the compactor)"
  }

  # roles/run.invoker per function. Keys are stable at plan time (service account e-mails are
  # not known before the accounts exist). The api's callers are the deployment admins and
  # api_invokers; Arco checks each caller's workspace role on top of this.
  api_members = distinct(concat(
    [for a in var.admins : "${endswith(a, ".gserviceaccount.com") ? "serviceAccount" : "user"}:${a}"],
    var.api_invokers,
  ))
  invoker_bindings = merge(
    { for m in local.api_members : "api/${m}" => { function = "api", member = m } },
    merge([
      for fn, callers in local.engine_invokers : {
        for c in callers : "${fn}/${c}" => {
          function = fn
          member   = "serviceAccount:${google_service_account.invoker[c].email}"
        }
      }
    ]...),
  )

  # Who creates tasks in which queue: the timer schedules its successor (timer queue) and
  # dispatches orders (worker queue); the worker nudges the timer (timer queue).
  enqueuers = {
    "timer/timer"  = { function = "timer", queue = google_cloud_tasks_queue.timer.name }
    "timer/worker" = { function = "timer", queue = google_cloud_tasks_queue.worker.name }
    "worker/timer" = { function = "worker", queue = google_cloud_tasks_queue.timer.name }
  }

  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_service_account" "function" {
  for_each = local.functions

  project      = var.project_id
  account_id   = local.function_names[each.key]
  display_name = "Arco ${each.key} function"
  description  = "Runtime identity of the ${local.function_names[each.key]} function"

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "invoker" {
  for_each = local.invoker_accounts

  project      = var.project_id
  account_id   = "${var.name_prefix}-${each.key}"
  display_name = "Arco ${each.key} invoker"
  description  = each.value

  depends_on = [google_project_service.apis]
}

# Every function reads and writes the store, and only the store.
resource "google_storage_bucket_iam_member" "store" {
  for_each = local.functions

  bucket = local.store_bucket
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.function[each.key].email}"
}

resource "google_cloud_tasks_queue_iam_member" "enqueuer" {
  for_each = local.enqueuers

  project  = var.project_id
  location = var.region
  name     = each.value.queue
  role     = "roles/cloudtasks.enqueuer"
  member   = "serviceAccount:${google_service_account.function[each.value.function].email}"
}

# Creating a task that carries an OIDC token of the tasks identity requires actAs on it.
resource "google_service_account_iam_member" "tasks_act_as" {
  for_each = toset(["timer", "worker"])

  service_account_id = google_service_account.invoker["tasks"].name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.function[each.key].email}"
}

# Pub/Sub mints the push identity's tokens (needed explicitly in projects created before
# April 2021; harmless elsewhere).
resource "google_service_account_iam_member" "pubsub_mints_push_tokens" {
  service_account_id = google_service_account.invoker["push"].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent

  # The Pub/Sub service agent exists once the API is on.
  depends_on = [google_project_service.apis]
}

resource "google_cloud_run_v2_service_iam_member" "invoker" {
  for_each = local.invoker_bindings

  project  = var.project_id
  location = var.region
  # A 2nd gen function is served by the Cloud Run service of the same name.
  name   = google_cloudfunctions2_function.function[each.value.function].name
  role   = "roles/run.invoker"
  member = each.value.member
}
