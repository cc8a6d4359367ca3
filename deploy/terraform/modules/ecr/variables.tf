variable "workloads" {
  description = "One repository pingvas/<workload> each."
  type        = list(string)
  default     = ["gateway", "tenants", "billing", "render", "mail", "search", "render-worker"]
}

variable "keep_images" {
  description = "Images kept per repository (the newest; older ones expire)."
  type        = number
  default     = 30
}

variable "push_principal_arns" {
  description = "Principals that push (the CI role); pulling is the nodes' AmazonEC2ContainerRegistryReadOnly."
  type        = list(string)
  default     = []
}

variable "tags" {
  type    = map(string)
  default = {}
}
