output "api_url" {
  description = "URL of the Arco HTTP API."
  value       = module.arco.api_url
}

output "function_urls" {
  description = "URL of each function."
  value       = module.arco.function_urls
}

output "store_url" {
  description = "The store, for `arco --store`."
  value       = module.arco.store_url
}

output "service_accounts" {
  description = "Runtime and invoker identities."
  value       = module.arco.service_accounts
}

output "queues" {
  description = "Cloud Tasks queues."
  value       = module.arco.queues
}

output "topics" {
  description = "Pub/Sub topics created by the module."
  value       = module.arco.topics
}

output "scheduler_jobs" {
  description = "Cloud Scheduler jobs (the timer's backstop, the compactor)."
  value       = module.arco.scheduler_jobs
}
