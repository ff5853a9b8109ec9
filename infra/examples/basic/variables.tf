variable "project_id" {
  description = "The GCP project to deploy Arco to."
  type        = string
}

variable "region" {
  description = "Region of the functions, queues and scheduler jobs."
  type        = string
  default     = "europe-west1"
}

variable "bucket_name" {
  description = "Globally unique name of the store bucket."
  type        = string
}

variable "source_archive" {
  description = "The function source zip built by `arco package`."
  type        = string
  default     = "../../../dist/arco-functions.zip"
}

variable "definitions" {
  description = "The code location, module:attribute (inside the source archive)."
  type        = string
}

variable "admins" {
  description = "E-mails of the deployment admins."
  type        = list(string)
}

variable "api_invokers" {
  description = "Further IAM members allowed to call the API (user:, group:, serviceAccount:, domain:)."
  type        = list(string)
  default     = []
}

variable "workspaces" {
  description = "Workspaces the deployment serves."
  type        = list(string)
  default     = ["default"]
}

variable "workspace" {
  description = "The workspace the timer, compactor and sensor_push serve."
  type        = string
  default     = "default"
}

variable "push_sensors" {
  description = "Push sensors: name => { topic, subscription }."
  type = map(object({
    topic                 = string
    subscription          = string
    ack_deadline_seconds  = optional(number, 60)
    max_delivery_attempts = optional(number, 10)
  }))
  default = {}
}
