variable "environment" {
  description = "dev or prod: roles are named pingvas-<environment>-<workload>."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment is dev or prod."
  }
}

variable "access" {
  description = "jsondecode(file(\"deploy/terraform/access.json\")): `pingvas-bus access` writes it from the services' specs; one role per workload, with exactly these statements."
  type        = any
}

variable "oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider."
  type        = string
}

variable "oidc_issuer" {
  description = "The OIDC issuer as host/path, without https:// (e.g. oidc.eks.ap-northeast-2.amazonaws.com/id/EXAMPLE)."
  type        = string

  validation {
    condition     = !startswith(var.oidc_issuer, "https://")
    error_message = "oidc_issuer is host/path, without https://."
  }
}

variable "namespace" {
  description = "Kubernetes namespace of the workloads' service accounts."
  type        = string
  default     = "pingvas"
}

variable "topic_arns" {
  description = "SNS topic ARN by context (bus module output topic_arns)."
  type        = map(string)
}

variable "queue_arns" {
  description = "SQS queue ARN by consumer (bus module output queue_arns)."
  type        = map(string)
}

variable "dlq_arns" {
  description = "Dead-letter queue ARN by consumer (bus module output dlq_arns)."
  type        = map(string)
}

variable "work_queue_arns" {
  description = "Work queue ARN by name (bus module output work_queue_arns)."
  type        = map(string)
}

variable "ses_events_queue_arn" {
  description = "The SES notification queue (bus module output ses_events_queue_arn)."
  type        = string
  default     = null
}

variable "images_bucket_arn" {
  description = "ARN of the images bucket (pingvas-<env>-images-<account>)."
  type        = string
}

variable "models_bucket_arn" {
  description = "ARN of the models bucket (pingvas-<env>-models-<account>)."
  type        = string
}

variable "ses_identity_arns" {
  description = "ARNs of the SES identities mail sends from."
  type        = list(string)
}

variable "ses_configuration_set_arn" {
  description = "ARN of the SES configuration set pingvas-mail."
  type        = string
}

variable "secrets_kms_key_arn" {
  description = "Customer managed key of the Secrets Manager secrets; null: the AWS managed key (no grant needed)."
  type        = string
  default     = null
}

variable "account_id" {
  description = "The environment's AWS account."
  type        = string
}

variable "region" {
  description = "The environment's region."
  type        = string
}

variable "aurora_master_secret_arn" {
  description = "ARN of Aurora's managed master user secret (manage_master_user_password)."
  type        = string
}

variable "tags" {
  description = "Tags of every role."
  type        = map(string)
  default     = {}
}
