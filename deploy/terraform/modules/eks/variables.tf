variable "cluster_name" {
  description = "The EKS cluster's name, e.g. pingvas-prod."
  type        = string
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane and the node groups."
  type        = string
  default     = "1.31"
}

variable "vpc_id" {
  type = string
}

variable "private_subnet_ids" {
  description = "The nodes' and the control plane's ENIs' subnets (one per zone)."
  type        = list(string)
}

variable "public_access_cidrs" {
  description = "Addresses allowed to the public API endpoint; empty keeps the endpoint private (reach it through the VPC: VPN, bastion, CI runner in the VPC)."
  type        = list(string)
  default     = []

  validation {
    condition     = !contains(var.public_access_cidrs, "0.0.0.0/0")
    error_message = "The API endpoint is never open to the whole internet."
  }
}

variable "log_retention_days" {
  description = "Control-plane log retention."
  type        = number
  default     = 365
}

variable "system_instance_types" {
  description = "Instance types of the system node group (API services, addons)."
  type        = list(string)
  default     = ["m7i.large"]
}

variable "system_min_size" {
  type    = number
  default = 2
}

variable "system_desired_size" {
  type    = number
  default = 3
}

variable "system_max_size" {
  type    = number
  default = 6
}

variable "gpu_instance_types" {
  description = "Instance types of the GPU node group (one GPU each by default: g6e.xlarge L40S, g5.xlarge A10G; p5 for eight H100s)."
  type        = list(string)
  default     = ["g6e.xlarge"]
}

variable "gpu_capacity_type" {
  description = "ON_DEMAND or SPOT. The workers drain on SIGTERM and render re-queues a lost job, so SPOT is safe and cheaper."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "SPOT"], var.gpu_capacity_type)
    error_message = "gpu_capacity_type is ON_DEMAND or SPOT."
  }
}

variable "gpu_max_size" {
  description = "Most GPU nodes the cluster autoscaler may start (the chart's worker.maxReplicas pods, one per node)."
  type        = number
  default     = 4
}

variable "gpus_per_node" {
  description = "GPUs per GPU instance (the cluster autoscaler's scale-from-zero template)."
  type        = number
  default     = 1
}

variable "gpu_disk_size_gb" {
  description = "Root volume of a GPU node: images plus the model scratch volume (the chart's worker.models.sizeLimit + scratchSizeLimit)."
  type        = number
  default     = 200
}

variable "tags" {
  type    = map(string)
  default = {}
}
