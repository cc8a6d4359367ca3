# The dev environment: the smallest thing that runs the whole product. One NAT gateway, interface
# endpoints in one zone, single-instance Aurora Serverless v2 that pauses when idle, one
# Redis node, a one-node OpenSearch domain, GPU nodes from zero to two (Spot).
# Everything the chart needs comes out of outputs.tf (deploy/terraform/README.md).

provider "aws" {
  region              = var.region
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = merge(var.tags, {
      "pingvas.io/environment" = local.environment
      "managed-by"             = "terraform"
    })
  }
}

locals {
  environment  = "dev"
  name         = "pingvas-dev"
  cluster_name = "pingvas-dev"
}

# The API endpoint is private unless public_access_cidrs lists the operator's address:
# run terraform from inside the VPC (or list your address) for these two providers.
provider "kubernetes" {
  host                   = module.eks.cluster_endpoint
  cluster_ca_certificate = base64decode(module.eks.cluster_certificate_authority_data)

  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", module.eks.cluster_name, "--region", var.region]
  }
}

provider "helm" {
  kubernetes {
    host                   = module.eks.cluster_endpoint
    cluster_ca_certificate = base64decode(module.eks.cluster_certificate_authority_data)

    exec {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.eks.cluster_name, "--region", var.region]
    }
  }
}

module "network" {
  source = "../../modules/network"

  name                     = local.name
  cidr                     = var.vpc_cidr
  azs                      = var.azs
  cluster_name             = local.cluster_name
  single_nat_gateway       = true
  interface_endpoint_zones = 1
  flow_log_retention_days  = 30
}

module "eks" {
  source = "../../modules/eks"

  cluster_name        = local.cluster_name
  vpc_id              = module.network.vpc_id
  private_subnet_ids  = module.network.private_subnet_ids
  public_access_cidrs = var.public_access_cidrs
  log_retention_days  = 30

  system_instance_types = ["m7i.large"]
  system_min_size       = 2
  system_desired_size   = 2
  system_max_size       = 4

  # the chart's worker.maxReplicas pods, one GPU node each
  gpu_instance_types = var.gpu_instance_types
  gpu_capacity_type  = "SPOT"
  gpu_max_size       = 2
}

module "secrets" {
  source = "../../modules/secrets"

  environment          = local.environment
  database_host        = module.aurora.endpoint
  database_port        = module.aurora.port
  database_name        = module.aurora.database_name
  redis_url            = module.redis.redis_url
  opensearch_url       = module.opensearch.url
  recovery_window_days = 0
}

module "aurora" {
  source = "../../modules/aurora"

  name                       = local.name
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.private_subnet_ids
  allowed_security_group_ids = [module.eks.node_security_group_id]
  master_secret_kms_key_arn  = module.secrets.kms_key_arn

  instance_class        = "db.serverless"
  instance_count        = 1
  min_capacity          = 0
  max_capacity          = 4
  backup_retention_days = 3
  deletion_protection   = false
  skip_final_snapshot   = true
}

module "redis" {
  source = "../../modules/redis"

  name                       = local.name
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.private_subnet_ids
  allowed_security_group_ids = [module.eks.node_security_group_id]
  node_type                  = "cache.t4g.micro"
  node_count                 = 1
  snapshot_retention_days    = 0
}

module "opensearch" {
  source = "../../modules/opensearch"

  name                       = local.name
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.private_subnet_ids
  allowed_security_group_ids = [module.eks.node_security_group_id]
  instance_type              = "t3.medium.search"
  instance_count             = 1
  volume_size_gb             = 10
}

module "storage" {
  source = "../../modules/storage"

  environment            = local.environment
  cors_origins           = var.spa_origins
  deleted_retention_days = 3
  force_destroy          = true
}

module "ecr" {
  source = "../../modules/ecr"

  keep_images         = 10
  push_principal_arns = var.ci_push_principal_arns
}

module "release" {
  source = "../../modules/release"

  environment                 = local.environment
  github_repository           = var.github_repository
  create_github_oidc_provider = var.create_github_oidc_provider
  repository_arns             = values(module.ecr.repository_arns)
  ecr_kms_key_arn             = module.ecr.kms_key_arn
  tags                        = var.tags
}

module "bus" {
  source = "../../modules/bus"

  topology    = jsondecode(file("${path.module}/../../bus-topology.json"))
  environment = local.environment
  kms_key_arn = null
  tags        = var.tags
}

module "ses" {
  source = "../../modules/ses"

  domain           = var.mail_domain
  route53_zone_id  = var.route53_zone_id
  events_topic_arn = module.bus.ses_events_topic_arn
}

module "iam" {
  source = "../../modules/iam"

  environment       = local.environment
  access            = jsondecode(file("${path.module}/../../access.json"))
  oidc_provider_arn = module.eks.oidc_provider_arn
  oidc_issuer       = module.eks.oidc_issuer
  namespace         = "pingvas"

  topic_arns           = module.bus.topic_arns
  queue_arns           = module.bus.queue_arns
  dlq_arns             = module.bus.dlq_arns
  work_queue_arns      = module.bus.work_queue_arns
  ses_events_queue_arn = module.bus.ses_events_queue_arn

  images_bucket_arn         = module.storage.images_bucket_arn
  models_bucket_arn         = module.storage.models_bucket_arn
  ses_identity_arns         = [module.ses.identity_arn]
  ses_configuration_set_arn = module.ses.configuration_set_arn
  secrets_kms_key_arn       = module.secrets.kms_key_arn
  aurora_master_secret_arn  = module.aurora.master_secret_arn
  account_id                = var.account_id
  region                    = var.region
  tags                      = var.tags
}

module "addons" {
  source = "../../modules/addons"

  environment               = local.environment
  cluster_name              = module.eks.cluster_name
  region                    = var.region
  vpc_id                    = module.network.vpc_id
  oidc_provider_arn         = module.eks.oidc_provider_arn
  oidc_issuer               = module.eks.oidc_issuer
  external_secrets_role_arn = module.iam.external_secrets_role_arn
  prometheus_retention      = "7d"
  prometheus_storage_gb     = 20

  # the addons run on the system nodes, with the EKS addons (EBS CSI for Prometheus) in place
  depends_on = [module.eks]
}
