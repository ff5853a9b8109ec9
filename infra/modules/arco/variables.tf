# -- where ----------------------------------------------------------------------------------

variable "project_id" {
  description = "The GCP project Arco is deployed to (its functions, queues, topics and buckets)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id: 6-30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  description = "The region of the functions, the Cloud Tasks queues and the Cloud Scheduler jobs (e.g. europe-west1). Part of every function URL."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a GCP region such as europe-west1 or us-central1."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name: functions (<prefix>-api, <prefix>-sensor-push, ...), service accounts, queues, topics. Short, so that service account ids stay within 30 characters."
  type        = string
  default     = "arco"

  validation {
    # <prefix>-sensor-push must be a valid service account id (6-30 chars) and the function's
    # deterministic URL label <name>-<project number> must stay within 63 characters.
    condition     = can(regex("^[a-z][a-z0-9-]{0,16}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-18 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "labels" {
  description = "Labels added to every resource that takes labels (buckets, functions, topics, subscriptions)."
  type        = map(string)
  default     = {}
}

variable "enable_apis" {
  description = "Enable the Google APIs Arco needs in the project (Cloud Functions, Cloud Run, Cloud Build, Artifact Registry, Cloud Tasks, Cloud Scheduler, Pub/Sub, Storage, IAM). Set to false when the project is managed elsewhere. APIs are never disabled on destroy."
  type        = bool
  default     = true
}

# -- the store ------------------------------------------------------------------------------

variable "bucket_name" {
  description = "Name of the GCS bucket that holds the store (ledger, published state, logs). Globally unique. Whoever can write it is an admin of every workspace in it (docs/security.md). Created by the module unless create_store_bucket is false."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$", var.bucket_name)) && !startswith(var.bucket_name, "goog")
    error_message = "bucket_name must be 3-63 lowercase letters, digits, '-' or '_' (no dots), not starting with 'goog'."
  }
}

variable "create_store_bucket" {
  description = "Create the store bucket. False: use an existing bucket named bucket_name, e.g. the one of another instance of this module that serves another workspace (give each instance its own name_prefix); the bucket's settings are then not managed here."
  type        = bool
  default     = true
}

variable "bucket_location" {
  description = "Location of the store bucket. Null: the region of the functions (single-region, lowest latency and no inter-region egress)."
  type        = string
  default     = null
}

variable "store_prefix" {
  description = "Optional key prefix inside the bucket: the store is gs://<bucket_name>/<store_prefix>. Empty: the bucket root."
  type        = string
  default     = ""

  validation {
    condition     = var.store_prefix == "" || (can(regex("^[A-Za-z0-9][A-Za-z0-9._=-]*(/[A-Za-z0-9][A-Za-z0-9._=-]*)*$", var.store_prefix)) && !strcontains(var.store_prefix, ".."))
    error_message = "store_prefix must be empty or segments of letters, digits, '.', '_', '=', '-' (each starting with a letter or digit, no '..') joined by single '/'."
  }
}

variable "store_versioning" {
  description = "Keep noncurrent object versions in the store bucket (a second line of defence against deletes and overwrites of the pointer). Noncurrent versions are deleted after noncurrent_version_retention_days."
  type        = bool
  default     = true
}

variable "noncurrent_version_retention_days" {
  description = "With store_versioning: days a noncurrent object version is kept before it is deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_retention_days >= 1
    error_message = "noncurrent_version_retention_days must be at least 1."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the store bucket with everything in it. Off by default: the ledger is the only copy of the history, and a destroy should fail on a non-empty store."
  type        = bool
  default     = false
}

variable "source_bucket_name" {
  description = "Name of the bucket that holds the function source archives. Null: <bucket_name>-<name_prefix>-src (bucket_name shortened to fit 63 characters)."
  type        = string
  default     = null
}

variable "source_archive" {
  description = "Path of the function source zip built by `arco package` (functions/main.py, the arco package, pinned requirements and your code location). Uploaded under a name derived from its MD5, so a new archive redeploys the functions and an unchanged one does not."
  type        = string

  validation {
    condition     = endswith(var.source_archive, ".zip") && fileexists(var.source_archive)
    error_message = "source_archive must be an existing .zip: build it with `arco package --include PATH --definitions MODULE:ATTR --output dist/arco-functions.zip`."
  }
}

# -- what the deployment serves -------------------------------------------------------------

variable "workspaces" {
  description = "The workspaces this deployment serves (ARCO_WORKSPACES). A workspace must also be created once (`arco workspace create NAME`); requests for any other workspace are 404."
  type        = list(string)
  default     = ["default"]

  validation {
    condition     = length(var.workspaces) > 0 && alltrue([for w in var.workspaces : can(regex("^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$", w))])
    error_message = "workspaces must be a non-empty list of names of 1-63 lowercase letters, digits, '-' or '_', starting and ending with a letter or digit."
  }
}

variable "workspace" {
  description = "The workspace the timer, the compactor and sensor_push serve (ARCO_WORKSPACE). Must be one of workspaces. Deploy the module once per workspace that needs its own timer chain."
  type        = string
  default     = "default"

  validation {
    condition     = contains(var.workspaces, var.workspace)
    error_message = "workspace must be one of workspaces."
  }
}

variable "admins" {
  description = "E-mail addresses of the deployment's admins (ARCO_ADMINS): admins of every served workspace, who cannot be revoked through the API. They are also granted roles/run.invoker on the api function."
  type        = list(string)

  validation {
    condition     = length(var.admins) > 0 && alltrue([for a in var.admins : can(regex("^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}[.][A-Za-z]{2,63}$", a))])
    error_message = "admins must be a non-empty list of e-mail addresses (users or service accounts), without an IAM prefix such as user:."
  }
}

variable "api_invokers" {
  description = "Further IAM members allowed to reach the api function through Cloud Run IAM (roles/run.invoker), e.g. [\"group:data-team@example.com\", \"domain:example.com\"]. Arco still requires a workspace role from each caller. allUsers and allAuthenticatedUsers are refused."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.api_invokers : can(regex("^(user|group|serviceAccount|domain):[^,\\s]+$", m))])
    error_message = "api_invokers must be IAM members of the form user:, group:, serviceAccount: or domain: (never allUsers or allAuthenticatedUsers)."
  }
}

variable "definitions" {
  description = "The code location the worker and sensor_push load (ARCO_DEFINITIONS): module:attribute, e.g. my_pipelines.definitions:defs. The module must be inside the source archive."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$", var.definitions))
    error_message = "definitions must be module.path:attribute, e.g. my_pipelines.definitions:defs."
  }
}

variable "push_sensors" {
  description = <<-EOT
    Push sensors by name (the sensor's name in the code location). For each, a Pub/Sub push
    subscription named `subscription` on `topic` (a topic id in this project or a full
    projects/P/topics/T path; the topic must exist) pushes to <sensor_push URL>/sensors/<name>
    with an OIDC token of the push service account, and sends a message to the dead-letter
    topic after max_delivery_attempts failed deliveries.
  EOT
  type = map(object({
    topic                 = string
    subscription          = string
    ack_deadline_seconds  = optional(number, 60)
    max_delivery_attempts = optional(number, 10)
  }))
  default = {}

  validation {
    condition = alltrue(flatten([
      for name, s in var.push_sensors : [
        can(regex("^[A-Za-z0-9][A-Za-z0-9._=-]{0,199}$", name)),
        can(regex("^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$", s.subscription)),
        !startswith(lower(s.subscription), "goog"),
        s.ack_deadline_seconds >= 10 && s.ack_deadline_seconds <= 600,
        s.max_delivery_attempts >= 5 && s.max_delivery_attempts <= 100,
      ]
    ]))
    error_message = "push_sensors: names are sensor names (letters, digits, . _ = -); subscription is a short Pub/Sub name (3-255 chars, starting with a letter, not 'goog'); ack_deadline_seconds is 10-600; max_delivery_attempts is 5-100."
  }
}

# -- timing ---------------------------------------------------------------------------------

variable "timer_interval_seconds" {
  description = "Seconds between timer calls (ARCO_TIMER_INTERVAL_S): each timer call schedules its successor at the next multiple of this interval through the timer queue."
  type        = number
  default     = 60

  validation {
    condition     = var.timer_interval_seconds >= 10 && var.timer_interval_seconds <= 3600 && floor(var.timer_interval_seconds) == var.timer_interval_seconds
    error_message = "timer_interval_seconds must be a whole number of seconds between 10 and 3600."
  }
}

variable "timer_backstop_schedule" {
  description = "Cron schedule (UTC) of the Cloud Scheduler job that calls the timer whatever happens to the chain of timer tasks: it restarts a broken chain (calls for a slot that already has a task are deduplicated by name)."
  type        = string
  default     = "*/5 * * * *"
}

variable "compactor_schedule" {
  description = "Cron schedule (UTC) of the Cloud Scheduler job that calls the compactor. Null: no scheduled compaction (then set compactor_on_write, or rely on the timer, which compacts in every call). See infra/README.md for the cost of each trigger."
  type        = string
  default     = "*/10 * * * *"
}

variable "compactor_on_write" {
  description = "Also call the compactor for every new ledger object of `workspace`: a bucket notification (OBJECT_FINALIZE under workspaces/<workspace>/ledger/) to a Pub/Sub topic, pushed to the compactor with OIDC. Lowest staleness, one compactor call per write. See infra/README.md."
  type        = bool
  default     = false
}

variable "lookback_ms" {
  description = "The compactor's clock-skew margin in milliseconds (ARCO_LOOKBACK_MS)."
  type        = number
  default     = 120000

  validation {
    condition     = var.lookback_ms >= 1000
    error_message = "lookback_ms must be at least 1000."
  }
}

variable "worker_timeout_seconds" {
  description = "The longest one task attempt (an asset) may run: the worker function's timeout and the dispatch deadline the timer gives each worker task (ARCO_WORKER_TIMEOUT_S). At most 1800, Cloud Tasks' limit for HTTP targets (a 2nd gen HTTP function alone could run 3600)."
  type        = number
  default     = 1800

  validation {
    condition     = var.worker_timeout_seconds >= 15 && var.worker_timeout_seconds <= 1800 && floor(var.worker_timeout_seconds) == var.worker_timeout_seconds
    error_message = "worker_timeout_seconds must be a whole number between 15 and 1800 (the Cloud Tasks dispatch deadline limit for HTTP targets); split longer work, see infra/README.md."
  }
}

variable "heartbeat_interval_seconds" {
  description = "Seconds between a running task's heartbeats (ARCO_HEARTBEAT_INTERVAL_S). Must stay well below the workspace setting runs.heartbeat_timeout_seconds (default 300)."
  type        = number
  default     = 60

  validation {
    condition     = var.heartbeat_interval_seconds >= 5 && var.heartbeat_interval_seconds <= 600
    error_message = "heartbeat_interval_seconds must be between 5 and 600."
  }
}

# -- capacity -------------------------------------------------------------------------------

variable "worker_max_instances" {
  description = "Most worker instances at once; each runs one task attempt at a time."
  type        = number
  default     = 20

  validation {
    condition     = var.worker_max_instances >= 1 && var.worker_max_instances <= 1000
    error_message = "worker_max_instances must be between 1 and 1000."
  }
}

variable "worker_max_concurrent_dispatches" {
  description = "Most task orders the worker queue has in flight at once. Keep it at or below worker_max_instances, or Cloud Tasks is answered 429 and retries."
  type        = number
  default     = 20

  validation {
    condition     = var.worker_max_concurrent_dispatches >= 1 && var.worker_max_concurrent_dispatches <= 5000
    error_message = "worker_max_concurrent_dispatches must be between 1 and 5000."
  }
}

variable "function_memory" {
  description = "Memory per function, overriding the defaults (api 512Mi, timer 1Gi, worker 1Gi, sensor_push 512Mi, compactor 1Gi). Keys: api, timer, worker, sensor_push, compactor."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.function_memory : contains(["api", "timer", "worker", "sensor_push", "compactor"], k) && can(regex("^[0-9]+(Mi|Gi)$", v))])
    error_message = "function_memory keys must be function names (api, timer, worker, sensor_push, compactor) and values sizes such as 512Mi or 2Gi."
  }
}

# -- network and build ----------------------------------------------------------------------

variable "api_ingress" {
  description = "Ingress of the api function: ALLOW_ALL (reachable from the internet, still behind IAM and Arco's own token check), ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB (behind a load balancer, e.g. with Cloud Armor or IAP)."
  type        = string
  default     = "ALLOW_ALL"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.api_ingress)
    error_message = "api_ingress must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "engine_ingress" {
  description = "Ingress of timer, worker, sensor_push and compactor. Their only callers are Cloud Tasks, Cloud Scheduler and Pub/Sub push subscriptions of this project, which Cloud Run counts as internal traffic: ALLOW_INTERNAL_ONLY keeps the internet out at the network level. ALLOW_ALL if a caller outside the project (or VPC-SC perimeter) must reach them."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY"], var.engine_ingress)
    error_message = "engine_ingress must be ALLOW_INTERNAL_ONLY or ALLOW_ALL."
  }
}

variable "build_service_account" {
  description = "Service account Cloud Build uses to build the functions, as projects/PROJECT/serviceAccounts/EMAIL. Null: the module's own <prefix>-build account (log writer, writer on the module's image repository, reader of the source bucket). Your own needs the same."
  type        = string
  default     = null
}

variable "docker_repository" {
  description = "Artifact Registry repository for the built function images (projects/P/locations/L/repositories/R). Null: the module's own <prefix>-functions repository."
  type        = string
  default     = null
}
