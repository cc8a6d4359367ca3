variable "environment" {
  description = "dev or prod: every secret is named pingvas/<env>/..."
  type        = string
}

variable "database_services" {
  description = "Services with a role pingvas_<svc> and a schema <svc> in the one database (pingvas_kit.db_bootstrap)."
  type        = list(string)
  default     = ["tenants", "billing", "render", "mail", "search"]
}

variable "database_host" {
  description = "Aurora's writer endpoint."
  type        = string
}

variable "database_port" {
  type    = number
  default = 5432
}

variable "database_name" {
  type    = string
  default = "pingvas"
}

variable "redis_url" {
  description = "rediss://... from the redis module."
  type        = string
  sensitive   = true
}

variable "opensearch_url" {
  description = "https://user:password@host:443 from the opensearch module."
  type        = string
  sensitive   = true
}

variable "recovery_window_days" {
  description = "Days a deleted secret can be restored (0 deletes at once: dev only)."
  type        = number
  default     = 30
}

variable "tags" {
  type    = map(string)
  default = {}
}
