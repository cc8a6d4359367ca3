variable "environment" {
  description = "dev or prod (role names pingvas-<env>-...)."
  type        = string
}

variable "cluster_name" {
  type = string
}

variable "region" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "oidc_provider_arn" {
  type = string
}

variable "oidc_issuer" {
  description = "The cluster's OIDC issuer without https://."
  type        = string
}

variable "external_secrets_role_arn" {
  description = "IRSA role of External Secrets (the iam module's external_secrets_role_arn: pingvas/<env>/* only)."
  type        = string
}

variable "prometheus_retention" {
  type    = string
  default = "15d"
}

variable "prometheus_storage_gb" {
  type    = number
  default = 50
}

variable "chart_versions" {
  description = "Helm chart versions (pinned; bump deliberately)."
  type        = map(string)
  default = {
    nvidia_device_plugin         = "0.17.0"
    aws_load_balancer_controller = "1.11.0"
    cluster_autoscaler           = "9.43.2"
    keda                         = "2.16.1"
    external_secrets             = "0.12.1"
    kube_prometheus_stack        = "67.4.0"
  }
}

variable "tags" {
  type    = map(string)
  default = {}
}
