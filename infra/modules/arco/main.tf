# Arco on Google Cloud: a store bucket, five Cloud Functions (2nd gen), two Cloud Tasks queues,
# Cloud Scheduler jobs and Pub/Sub push subscriptions, each caller with its own identity.
# infra/README.md explains the choices; docs/security.md the auth model.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  labels = merge({ app = "arco" }, var.labels)

  # One entry per function; the key is its entry point in functions/main.py.
  functions = {
    api = {
      description   = "Arco HTTP API: identities and workspace roles"
      memory        = lookup(var.function_memory, "api", "512Mi")
      timeout       = 60
      max_instances = 10
      ingress       = var.api_ingress
    }
    timer = {
      description   = "Arco timer: controllers, dispatch, then the next timer call"
      memory        = lookup(var.function_memory, "timer", "1Gi")
      timeout       = 300
      max_instances = 3
      ingress       = var.engine_ingress
    }
    worker = {
      description   = "Arco worker: one task attempt or one poll-sensor evaluation"
      memory        = lookup(var.function_memory, "worker", "1Gi")
      timeout       = var.worker_timeout_seconds
      max_instances = var.worker_max_instances
      ingress       = var.engine_ingress
    }
    sensor_push = {
      description   = "Arco sensor_push: one push-sensor evaluation per Pub/Sub message"
      memory        = lookup(var.function_memory, "sensor_push", "512Mi")
      timeout       = 60
      max_instances = 10
      ingress       = var.engine_ingress
    }
    compactor = {
      description   = "Arco compactor: fold the ledger and publish the state"
      memory        = lookup(var.function_memory, "compactor", "1Gi")
      timeout       = 540
      max_instances = 2
      ingress       = var.engine_ingress
    }
  }

  # Cloud Functions names allow no underscore: sensor_push is deployed as <prefix>-sensor-push.
  function_names = { for fn in keys(local.functions) : fn => "${var.name_prefix}-${replace(fn, "_", "-")}" }

  # Every function's URL is known before any function exists: a 2nd gen function is served by
  # the Cloud Run service of the same name, whose deterministic URL is
  # https://<service>-<project number>.<region>.run.app. Each function needs its own URL
  # (ARCO_AUDIENCE), and timer and worker need each other's (ARCO_TIMER_URL, ARCO_WORKER_URL):
  # taken from the resources' `url` attributes, that would be a dependency cycle.
  urls = {
    for fn, name in local.function_names :
    fn => "https://${name}-${data.google_project.this.number}.${var.region}.run.app"
  }

  store_url = (
    var.store_prefix == ""
    ? "gs://${local.store_bucket}"
    : "gs://${local.store_bucket}/${var.store_prefix}"
  )
  ledger_prefix = "${var.store_prefix == "" ? "" : "${var.store_prefix}/"}workspaces/${var.workspace}/ledger/"

  # The identities that call the engine functions: ARCO_INVOKERS and roles/run.invoker.
  engine_invokers = {
    timer       = ["tasks", "scheduler"]
    worker      = ["tasks"]
    sensor_push = ["push"]
    compactor   = var.compactor_on_write ? ["scheduler", "push"] : ["scheduler"]
  }
  invoker_emails = {
    for fn, callers in local.engine_invokers :
    fn => join(",", [for c in callers : google_service_account.invoker[c].email])
  }

  # The environment of each function: exactly FUNCTION_ENV[fn] of core/arco/services/config.py
  # (tests/infra/test_function_env.py holds the two together). Values are strings.
  function_env = {
    api = {
      ARCO_STORE       = local.store_url
      ARCO_WORKSPACE   = var.workspace
      ARCO_WORKSPACES  = join(",", var.workspaces)
      ARCO_LOOKBACK_MS = tostring(var.lookback_ms)
      ARCO_AUDIENCE    = local.urls.api
      ARCO_ADMINS      = join(",", var.admins)
    }
    timer = {
      ARCO_STORE                 = local.store_url
      ARCO_WORKSPACE             = var.workspace
      ARCO_WORKSPACES            = join(",", var.workspaces)
      ARCO_LOOKBACK_MS           = tostring(var.lookback_ms)
      ARCO_AUDIENCE              = local.urls.timer
      ARCO_INVOKERS              = local.invoker_emails.timer
      ARCO_TIMER_QUEUE           = google_cloud_tasks_queue.timer.id
      ARCO_TIMER_URL             = local.urls.timer
      ARCO_TIMER_INTERVAL_S      = tostring(var.timer_interval_seconds)
      ARCO_TIMER_SERVICE_ACCOUNT = google_service_account.invoker["tasks"].email
      ARCO_WORKER_QUEUE          = google_cloud_tasks_queue.worker.id
      ARCO_WORKER_URL            = local.urls.worker
      ARCO_WORKER_TIMEOUT_S      = tostring(var.worker_timeout_seconds)
    }
    worker = {
      ARCO_STORE                 = local.store_url
      ARCO_WORKSPACE             = var.workspace
      ARCO_WORKSPACES            = join(",", var.workspaces)
      ARCO_LOOKBACK_MS           = tostring(var.lookback_ms)
      ARCO_AUDIENCE              = local.urls.worker
      ARCO_INVOKERS              = local.invoker_emails.worker
      ARCO_TIMER_QUEUE           = google_cloud_tasks_queue.timer.id
      ARCO_TIMER_URL             = local.urls.timer
      ARCO_TIMER_INTERVAL_S      = tostring(var.timer_interval_seconds)
      ARCO_TIMER_SERVICE_ACCOUNT = google_service_account.invoker["tasks"].email
      ARCO_WORKER_QUEUE          = google_cloud_tasks_queue.worker.id
      ARCO_DEFINITIONS           = var.definitions
      ARCO_HEARTBEAT_INTERVAL_S  = tostring(var.heartbeat_interval_seconds)
    }
    sensor_push = {
      ARCO_STORE       = local.store_url
      ARCO_WORKSPACE   = var.workspace
      ARCO_WORKSPACES  = join(",", var.workspaces)
      ARCO_LOOKBACK_MS = tostring(var.lookback_ms)
      ARCO_AUDIENCE    = local.urls.sensor_push
      ARCO_INVOKERS    = local.invoker_emails.sensor_push
      ARCO_DEFINITIONS = var.definitions
    }
    compactor = {
      ARCO_STORE       = local.store_url
      ARCO_WORKSPACE   = var.workspace
      ARCO_WORKSPACES  = join(",", var.workspaces)
      ARCO_LOOKBACK_MS = tostring(var.lookback_ms)
      ARCO_AUDIENCE    = local.urls.compactor
      ARCO_INVOKERS    = local.invoker_emails.compactor
    }
  }

  apis = [
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "cloudtasks.googleapis.com",
    "iam.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "storage.googleapis.com",
  ]
}

resource "google_project_service" "apis" {
  for_each = var.enable_apis ? toset(local.apis) : toset([])

  project = var.project_id
  service = each.value
  # Other workloads of the project may use them: never disable an API on destroy.
  disable_on_destroy         = false
  disable_dependent_services = false
}
