# What the chart reads (deploy/helm/pingvas/values-<env>.yaml), by its values key.

output "account_id" {
  description = "aws.accountId"
  value       = var.account_id
}

output "region" {
  description = "aws.region"
  value       = var.region
}

output "cluster_name" {
  description = "aws eks update-kubeconfig --name <cluster_name>"
  value       = module.eks.cluster_name
}

output "ecr_registry" {
  description = "image.registry"
  value       = module.ecr.registry
}

output "aurora_endpoint" {
  description = "database.host"
  value       = module.aurora.endpoint
}

output "aurora_master_secret_name" {
  description = "secrets.databaseAdmin"
  value       = module.aurora.master_secret_name
}

output "images_bucket" {
  description = "storage.imagesBucket"
  value       = module.storage.images_bucket
}

output "models_bucket" {
  description = "storage.modelsBucket"
  value       = module.storage.models_bucket
}

output "s3_prefix_list_cidrs" {
  description = "networkPolicy.s3Cidrs"
  value       = module.network.s3_prefix_list_cidrs
}

output "vpc_cidr" {
  description = "networkPolicy.vpcCidr"
  value       = module.network.vpc_cidr
}

output "public_subnet_cidrs" {
  description = "ingress.loadBalancerCidrs"
  value       = module.network.public_subnet_cidrs
}

output "role_arns" {
  description = "The workloads' IRSA roles, by workload (ServiceAccount annotations)."
  value       = module.iam.role_arns
}

output "addon_role_arns" {
  value = module.addons.role_arns
}

output "ses_configuration_set" {
  description = "mail.configurationSet"
  value       = module.ses.configuration_set_name
}

output "ses_dns_records" {
  description = "Publish these when route53_zone_id is null."
  value       = module.ses.dns_records
}

output "opensearch_endpoint" {
  value = module.opensearch.endpoint
}

output "secret_names" {
  value = module.secrets.secret_names
}

output "release_role_arn" {
  description = "The GitHub environment's secret AWS_RELEASE_ROLE_ARN (release.yml)."
  value       = module.release.role_arn
}
