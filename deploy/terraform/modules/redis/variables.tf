variable "name" {
  description = "Replication group id, e.g. pingvas-prod."
  type        = string
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to Redis (the EKS nodes' security group)."
  type        = list(string)
}

variable "engine" {
  description = "valkey (the Redis fork ElastiCache prices about 20% under Redis OSS) or redis."
  type        = string
  default     = "valkey"
}

variable "engine_version" {
  type    = string
  default = "8.0"
}

variable "parameter_group_family" {
  type    = string
  default = "valkey8"
}

variable "node_type" {
  type    = string
  default = "cache.t4g.small"
}

variable "node_count" {
  description = "Primary plus replicas; two or more enables Multi-AZ automatic failover."
  type        = number
  default     = 2
}

variable "snapshot_retention_days" {
  type    = number
  default = 1
}

variable "tags" {
  type    = map(string)
  default = {}
}
