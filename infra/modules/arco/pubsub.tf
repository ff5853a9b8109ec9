# Pub/Sub: a push subscription per push sensor (with a dead-letter topic), and optionally the
# bucket notifications that call the compactor on every ledger write.

locals {
  has_push_sensors = length(var.push_sensors) > 0
}

# -- push sensors ---------------------------------------------------------------------------

# Messages sensor_push could not take after max_delivery_attempts land here. A dead-letter topic
# without a subscription would drop them: the pull subscription below keeps them for a week
# (inspect with `gcloud pubsub subscriptions pull <prefix>-push-dead-letter`).
resource "google_pubsub_topic" "dead_letter" {
  # checkov:skip=CKV_GCP_83: Google-managed encryption; customer-managed keys would need a KMS key and grants for the Pub/Sub service agent, which this module leaves to the project's own policy.
  count = local.has_push_sensors ? 1 : 0

  project                    = var.project_id
  name                       = "${var.name_prefix}-push-dead-letter"
  message_retention_duration = "604800s"
  labels                     = local.labels

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_subscription" "dead_letter" {
  count = local.has_push_sensors ? 1 : 0

  project                    = var.project_id
  name                       = "${var.name_prefix}-push-dead-letter"
  topic                      = google_pubsub_topic.dead_letter[0].id
  message_retention_duration = "604800s"
  retain_acked_messages      = true
  ack_deadline_seconds       = 60
  labels                     = local.labels

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription" "push_sensor" {
  for_each = var.push_sensors

  project                    = var.project_id
  name                       = each.value.subscription
  topic                      = each.value.topic
  ack_deadline_seconds       = each.value.ack_deadline_seconds
  message_retention_duration = "604800s"
  labels                     = local.labels

  push_config {
    # The path names the sensor (arco.services.engines.sensor_push routes /sensors/<name>).
    push_endpoint = "${local.urls.sensor_push}/sensors/${each.key}"

    oidc_token {
      service_account_email = google_service_account.invoker["push"].email
      # The function's URL, not the endpoint with its path: ARCO_AUDIENCE of sensor_push.
      audience = local.urls.sensor_push
    }
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter[0].id
    max_delivery_attempts = each.value.max_delivery_attempts
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  # A subscription with no activity for 31 days would otherwise be deleted.
  expiration_policy {
    ttl = ""
  }

  # Deliveries before the function accepts them would spend their delivery attempts.
  depends_on = [
    google_project_service.apis,
    google_cloud_run_v2_service_iam_member.invoker,
    google_service_account_iam_member.pubsub_mints_push_tokens,
  ]
}

# Dead-lettering: the Pub/Sub service agent publishes to the dead-letter topic and acknowledges
# the forwarded message on the source subscription.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  count = local.has_push_sensors ? 1 : 0

  project = var.project_id
  topic   = google_pubsub_topic.dead_letter[0].name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each = var.push_sensors

  project      = var.project_id
  subscription = google_pubsub_subscription.push_sensor[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

# -- compactor on write (compactor_on_write) ------------------------------------------------

data "google_storage_project_service_account" "gcs" {
  count = var.compactor_on_write ? 1 : 0

  project = var.project_id
}

resource "google_pubsub_topic" "ledger_writes" {
  # checkov:skip=CKV_GCP_83: Google-managed encryption; the messages carry object names only (payload_format NONE), no data.
  count = var.compactor_on_write ? 1 : 0

  project = var.project_id
  name    = "${var.name_prefix}-ledger-writes"
  # A message only says "compact now"; an old one is worth nothing.
  message_retention_duration = "600s"
  labels                     = local.labels

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic_iam_member" "gcs_publishes_ledger_writes" {
  count = var.compactor_on_write ? 1 : 0

  project = var.project_id
  topic   = google_pubsub_topic.ledger_writes[0].name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs[0].email_address}"
}

# Only new ledger objects of the served workspace: the compactor's own writes (state/) must not
# trigger it again.
resource "google_storage_notification" "ledger_writes" {
  count = var.compactor_on_write ? 1 : 0

  bucket             = local.store_bucket
  topic              = google_pubsub_topic.ledger_writes[0].id
  payload_format     = "NONE"
  event_types        = ["OBJECT_FINALIZE"]
  object_name_prefix = local.ledger_prefix

  depends_on = [google_pubsub_topic_iam_member.gcs_publishes_ledger_writes]
}

resource "google_pubsub_subscription" "ledger_writes" {
  count = var.compactor_on_write ? 1 : 0

  project                    = var.project_id
  name                       = "${var.name_prefix}-ledger-writes"
  topic                      = google_pubsub_topic.ledger_writes[0].id
  ack_deadline_seconds       = 600
  message_retention_duration = "600s"
  labels                     = local.labels

  push_config {
    push_endpoint = local.urls.compactor

    oidc_token {
      service_account_email = google_service_account.invoker["push"].email
      audience              = local.urls.compactor
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "300s"
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_cloud_run_v2_service_iam_member.invoker,
    google_service_account_iam_member.pubsub_mints_push_tokens,
  ]
}
