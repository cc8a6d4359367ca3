variable "topology" {
  description = "jsondecode(file(\"deploy/terraform/bus-topology.json\")): `pingvas-bus topology` writes it from the services' specs."
  type        = any
}

variable "environment" {
  description = "dev or prod."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment is dev or prod."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for every topic and queue (its key policy must let sns.amazonaws.com, ses.amazonaws.com and the workload roles use it); null: SQS-managed SSE for the queues, the AWS managed alias/aws/sns key for the bus topics and a key of this module for the SES events topic (SES cannot publish to a topic under an AWS managed key)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
