# Amazon OpenSearch Service in the VPC: the analysis-nori plugin is bundled with the
# service (the search service's nori analyzer works as in docker-compose). Encryption at
# rest, node-to-node encryption, HTTPS only (TLS 1.2+), fine-grained access control with the
# internal user database: the search service connects with a URL holding its user and
# password (opensearch-py, services/search/src/pingvas_search/engine/opensearch), which the
# secrets module writes to pingvas/<env>/search/opensearch.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  zones       = min(var.instance_count, 3)
  domain_arn  = "arn:${data.aws_partition.current.partition}:es:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:domain/${var.name}"
  burstable   = startswith(var.instance_type, "t3.")
  master_user = "pingvas"
}

resource "aws_kms_key" "this" {
  description         = "${var.name} OpenSearch at-rest encryption"
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

# the master user's password: OpenSearch wants upper, lower, digit and a special character;
# only URL-unreserved specials, so it sits in the URL unescaped
resource "random_password" "master" {
  length           = 32
  min_upper        = 2
  min_lower        = 2
  min_numeric      = 2
  min_special      = 2
  override_special = "-_.~"
}

resource "aws_security_group" "this" {
  name        = "${var.name}-opensearch"
  description = "OpenSearch HTTPS from the EKS nodes only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-opensearch" })
}

# count, not for_each: the node security group's id is unknown until the cluster exists
resource "aws_vpc_security_group_ingress_rule" "https" {
  count = length(var.allowed_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "HTTPS from the EKS nodes (${count.index})"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = var.allowed_security_group_ids[count.index]
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:search and slow logs are for tuning and incidents: 90 days by default
  for_each = toset(["INDEX_SLOW_LOGS", "SEARCH_SLOW_LOGS", "ES_APPLICATION_LOGS", "AUDIT_LOGS"])

  name              = "/aws/opensearch/${var.name}/${lower(each.value)}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.logs.arn

  tags = var.tags
}

resource "aws_kms_key" "logs" {
  description         = "${var.name} OpenSearch logs"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.logs_key.json

  tags = var.tags
}

data "aws_iam_policy_document" "logs_key" {
  #checkov:skip=CKV_AWS_111:a KMS key policy: "*" is this key, and the account's IAM policies decide who uses it
  #checkov:skip=CKV_AWS_356:a KMS key policy: "*" is this key itself
  #checkov:skip=CKV_AWS_109:a KMS key policy: the account root administers its own key (AWS's default key policy)
  source_policy_documents = [data.aws_iam_policy_document.key.json]

  statement {
    sid       = "CloudWatchLogs"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "logs" {
  statement {
    actions   = ["logs:PutLogEvents", "logs:CreateLogStream"]
    resources = [for group in aws_cloudwatch_log_group.this : "${group.arn}:*"]

    principals {
      type        = "Service"
      identifiers = ["es.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "this" {
  policy_name     = "${var.name}-opensearch"
  policy_document = data.aws_iam_policy_document.logs.json
}

# The domain is reachable only inside the VPC, from the nodes' security group; who may do
# what inside it is fine-grained access control's (the master user), so the resource
# policy lets the VPC's callers in and FGAC authenticates them.
data "aws_iam_policy_document" "access" {
  #checkov:skip=CKV_AWS_283:the domain is VPC-only behind a security group of the nodes, and fine-grained access control authenticates every request (the usual pattern with FGAC)
  statement {
    actions   = ["es:ESHttp*"]
    resources = ["${local.domain_arn}/*"]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
  }
}

resource "aws_opensearch_domain" "this" {
  #checkov:skip=CKV_AWS_318:dedicated masters are the dedicated_master variable; a prompt index of this size runs on three data nodes (and the index is rebuilt from events or a reindex)
  #checkov:skip=CKV2_AWS_59:as CKV_AWS_318: the dedicated_master variable turns them on
  domain_name    = var.name
  engine_version = var.engine_version

  cluster_config {
    instance_type            = var.instance_type
    instance_count           = var.instance_count
    zone_awareness_enabled   = local.zones > 1
    dedicated_master_enabled = var.dedicated_master
    dedicated_master_type    = var.dedicated_master ? var.instance_type : null
    dedicated_master_count   = var.dedicated_master ? 3 : null

    dynamic "zone_awareness_config" {
      for_each = local.zones > 1 ? [1] : []

      content {
        availability_zone_count = local.zones
      }
    }
  }

  vpc_options {
    subnet_ids         = slice(var.subnet_ids, 0, local.zones)
    security_group_ids = [aws_security_group.this.id]
  }

  ebs_options {
    ebs_enabled = true
    volume_type = "gp3"
    volume_size = var.volume_size_gb
  }

  encrypt_at_rest {
    enabled    = true
    kms_key_id = aws_kms_key.this.arn
  }

  node_to_node_encryption {
    enabled = true
  }

  domain_endpoint_options {
    enforce_https       = true
    tls_security_policy = "Policy-Min-TLS-1-2-PFS-2023-10"
  }

  advanced_security_options {
    enabled                        = true
    anonymous_auth_enabled         = false
    internal_user_database_enabled = true

    master_user_options {
      master_user_name     = local.master_user
      master_user_password = random_password.master.result
    }
  }

  auto_tune_options {
    desired_state       = local.burstable ? "DISABLED" : "ENABLED"
    rollback_on_disable = "NO_ROLLBACK"
  }

  log_publishing_options {
    log_type                 = "INDEX_SLOW_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.this["INDEX_SLOW_LOGS"].arn
  }

  log_publishing_options {
    log_type                 = "SEARCH_SLOW_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.this["SEARCH_SLOW_LOGS"].arn
  }

  log_publishing_options {
    log_type                 = "ES_APPLICATION_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.this["ES_APPLICATION_LOGS"].arn
  }

  log_publishing_options {
    log_type                 = "AUDIT_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.this["AUDIT_LOGS"].arn
    enabled                  = true
  }

  access_policies = data.aws_iam_policy_document.access.json

  tags = var.tags

  depends_on = [aws_cloudwatch_log_resource_policy.this]
}
