variable "name" {
  description = "Cluster identifier, e.g. pingvas-prod."
  type        = string
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  description = "Private subnets over the three zones."
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to PostgreSQL (the EKS nodes' security group)."
  type        = list(string)
}

variable "engine_version" {
  description = "Aurora PostgreSQL 16 minor version."
  type        = string
  default     = "16.6"

  validation {
    condition     = startswith(var.engine_version, "16.")
    error_message = "Pingvas runs on Aurora PostgreSQL 16."
  }
}

variable "instance_class" {
  description = "db.serverless (Serverless v2, billed per ACU-hour) or a provisioned class such as db.r7g.large once the load is steady enough to be cheaper that way."
  type        = string
  default     = "db.serverless"
}

variable "instance_count" {
  description = "Writer plus readers; two or more spreads them over zones (Multi-AZ failover)."
  type        = number
  default     = 2
}

variable "min_capacity" {
  description = "Serverless v2 minimum ACUs; 0 lets an idle cluster pause (dev)."
  type        = number
  default     = 0.5
}

variable "max_capacity" {
  description = "Serverless v2 maximum ACUs."
  type        = number
  default     = 8
}

variable "seconds_until_auto_pause" {
  description = "With min_capacity 0: idle seconds before the cluster pauses."
  type        = number
  default     = 3600
}

variable "backup_retention_days" {
  type    = number
  default = 14
}

variable "deletion_protection" {
  type    = bool
  default = true
}

variable "skip_final_snapshot" {
  description = "Destroy without a last snapshot (dev only)."
  type        = bool
  default     = false
}

variable "iam_database_authentication" {
  description = "Also accept IAM database authentication (the services use passwords from their secrets)."
  type        = bool
  default     = false
}

variable "master_secret_kms_key_arn" {
  description = "KMS key of the RDS-managed master secret: the key of the pingvas/<env>/* secrets, so External Secrets decrypts both with one grant (null: this module's key)."
  type        = string
  default     = null
}

variable "tags" {
  type    = map(string)
  default = {}
}
