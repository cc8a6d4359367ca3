variable "name" {
  description = "Domain name (3-28 lowercase characters), e.g. pingvas-prod."
  type        = string
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  description = "Private subnets; the domain uses the first instance_count of them (up to three zones)."
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to HTTPS (the EKS nodes' security group)."
  type        = list(string)
}

variable "engine_version" {
  type    = string
  default = "OpenSearch_2.17"
}

variable "instance_type" {
  type    = string
  default = "m7g.medium.search"
}

variable "instance_count" {
  description = "Data nodes; 3 spreads them over three zones (prod), 1 is a single-zone dev domain."
  type        = number
  default     = 3
}

variable "dedicated_master" {
  description = "Three dedicated master nodes (for larger domains)."
  type        = bool
  default     = false
}

variable "volume_size_gb" {
  type    = number
  default = 20
}

variable "log_retention_days" {
  type    = number
  default = 90
}

variable "tags" {
  type    = map(string)
  default = {}
}
