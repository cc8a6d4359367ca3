variable "name" {
  description = "Prefix of every resource name, e.g. pingvas-prod."
  type        = string
}

variable "cidr" {
  description = "The VPC's CIDR (a /16: three public /22s and three private /19s are cut from it)."
  type        = string
}

variable "azs" {
  description = "Exactly three availability zones."
  type        = list(string)
  default     = ["ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c"]

  validation {
    condition     = length(var.azs) == 3
    error_message = "The network spans exactly three availability zones."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for the whole VPC (dev) instead of one per zone (prod)."
  type        = bool
  default     = false
}

variable "interface_endpoint_zones" {
  description = "Zones with an ENI of each interface endpoint (3 in prod; 1 in dev saves two thirds of the endpoints' hourly cost, the other zones reach it across the zone boundary)."
  type        = number
  default     = 3

  validation {
    condition     = var.interface_endpoint_zones >= 1 && var.interface_endpoint_zones <= 3
    error_message = "interface_endpoint_zones is 1, 2 or 3."
  }
}

variable "cluster_name" {
  description = "The EKS cluster whose load balancers use these subnets (subnet discovery tags)."
  type        = string
}

variable "flow_log_retention_days" {
  description = "How long VPC flow logs are kept."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
