variable "environment" {
  description = "dev or prod: the role is pingvas-<environment>-release, for the GitHub environment of that name."
  type        = string
}

variable "github_repository" {
  description = "owner/name of the repository whose release.yml pushes the images."
  type        = string
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub OIDC provider (false where the account has one already)."
  type        = bool
  default     = true
}

variable "repository_arns" {
  description = "The ECR repositories it pushes to (module ecr's repository_arns)."
  type        = list(string)
}

variable "ecr_kms_key_arn" {
  description = "The repositories' KMS key (module ecr's kms_key_arn)."
  type        = string
}

variable "tags" {
  type    = map(string)
  default = {}
}
