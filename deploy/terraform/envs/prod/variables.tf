variable "region" {
  description = "AWS region."
  type        = string
  default     = "ap-northeast-2"
}

variable "account_id" {
  description = "The environment's AWS account (the provider refuses any other)."
  type        = string
}

variable "vpc_cidr" {
  description = "The VPC's /16."
  type        = string
}

variable "azs" {
  description = "Three availability zones of the region."
  type        = list(string)
  default     = ["ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c"]
}

variable "mail_domain" {
  description = "SES sending domain (no-reply@<mail_domain>)."
  type        = string
}

variable "route53_zone_id" {
  description = "Hosted zone of mail_domain for the DKIM/MAIL FROM/DMARC records; null to publish them by hand (output ses_dns_records)."
  type        = string
  default     = null
}

variable "spa_origins" {
  description = "The SPA's origins (CORS on the images bucket)."
  type        = list(string)
}

variable "public_access_cidrs" {
  description = "Operator/CI addresses allowed to the EKS API's public endpoint; empty keeps it private."
  type        = list(string)
  default     = []
}

variable "gpu_instance_types" {
  description = "GPU node instance types (one GPU each)."
  type        = list(string)
}

variable "github_repository" {
  description = "owner/name of the repository whose .github/workflows/release.yml pushes the images."
  type        = string
  default     = "pingvas/pingvas"
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub OIDC provider (false where the account has one)."
  type        = bool
  default     = true
}

variable "ci_push_principal_arns" {
  description = "Other principals allowed to push to ECR (the release workflow's own role needs no entry)."
  type        = list(string)
  default     = []
}

variable "tags" {
  type    = map(string)
  default = {}
}
