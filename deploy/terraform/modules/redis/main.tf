# ElastiCache (Valkey, Redis-compatible): the gateway's rate-limit counters and session
# deny list, render's progress hub. TLS in transit (clients use rediss://), encrypted at
# rest with a KMS key, an AUTH token that the secrets module stores as REDIS_URL.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

resource "aws_kms_key" "this" {
  description         = "${var.name} ElastiCache at-rest encryption"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.key.json

  tags = var.tags
}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_111:a KMS key policy: "*" is this key, and the account's IAM policies decide who uses it
  #checkov:skip=CKV_AWS_356:a KMS key policy: "*" is this key itself
  #checkov:skip=CKV_AWS_109:a KMS key policy: the account root administers its own key (AWS's default key policy)
  statement {
    sid       = "Account"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

# ElastiCache AUTH tokens: 16-128 printable characters without @ " /; letters and digits only
# so the token needs no escaping in the URL
resource "random_password" "auth" {
  length  = 64
  special = false
}

resource "aws_elasticache_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids

  tags = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-redis"
  description = "Redis (TLS) from the EKS nodes only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-redis" })
}

# count, not for_each: the node security group's id is unknown until the cluster exists
resource "aws_vpc_security_group_ingress_rule" "redis" {
  count = length(var.allowed_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "Redis from the EKS nodes (${count.index})"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = var.allowed_security_group_ids[count.index]
}

resource "aws_elasticache_parameter_group" "this" {
  name        = "${var.name}-${var.parameter_group_family}"
  family      = var.parameter_group_family
  description = "Pingvas: evict only keys with a TTL (rate-limit windows), never the deny list"

  parameter {
    name  = "maxmemory-policy"
    value = "volatile-lru"
  }

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "slow" {
  #checkov:skip=CKV_AWS_158:slow-log entries hold command names and timings, no data; CloudWatch's own encryption is enough
  #checkov:skip=CKV_AWS_338:slow logs are for tuning: 30 days
  name              = "/aws/elasticache/${var.name}/slow-log"
  retention_in_days = 30

  tags = var.tags
}

resource "aws_elasticache_replication_group" "this" {
  #checkov:skip=CKV2_AWS_50:failover is on whenever node_count > 1 (prod: 2); dev runs one node, its contents (rate-limit windows, progress) are transient
  replication_group_id = var.name
  description          = "Pingvas ${var.name}: rate limits, session deny list, render progress hub"
  engine               = var.engine
  engine_version       = var.engine_version
  node_type            = var.node_type
  num_cache_clusters   = var.node_count
  port                 = 6379
  parameter_group_name = aws_elasticache_parameter_group.this.name

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = [aws_security_group.this.id]

  automatic_failover_enabled = var.node_count > 1
  multi_az_enabled           = var.node_count > 1

  transit_encryption_enabled = true
  transit_encryption_mode    = "required"
  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.this.arn
  auth_token                 = random_password.auth.result
  auth_token_update_strategy = "ROTATE"

  snapshot_retention_limit   = var.snapshot_retention_days
  snapshot_window            = "18:00-19:00"
  maintenance_window         = "sun:19:30-sun:20:30"
  auto_minor_version_upgrade = true
  apply_immediately          = false

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.slow.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }

  tags = var.tags
}
