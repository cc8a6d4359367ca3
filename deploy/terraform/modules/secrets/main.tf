# Secrets Manager, JSON key/value secrets the chart's ExternalSecrets read (through the
# ClusterSecretStore aws-secrets-manager):
#   pingvas/<env>/shared               INTERNAL_SECRET JWT_SECRET RENDER_WORKER_TOKEN EXPORT_TOKEN UNSUBSCRIBE_SECRET
#   pingvas/<env>/<svc>/database       DATABASE_URL PASSWORD (tenants, billing, render, mail, search)
#   pingvas/<env>/redis                REDIS_URL
#   pingvas/<env>/search/opensearch    OPENSEARCH_URL
#   pingvas/<env>/billing/lemonsqueezy SIGNING_SECRET API_KEY (no value here: an operator puts it)
# All under one KMS key, which the External Secrets role decrypts with (the iam module's
# secrets_kms_key_arn); Aurora's managed master secret uses it too.
#
# Rotation: terraform apply -replace='module.secrets.random_password.shared["JWT_SECRET"]' (or
# a database password) writes a new version; External Secrets picks it up within its refresh
# interval and the db-bootstrap Job ALTERs the role to the new password on the next release.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  prefix      = "pingvas/${var.environment}"
  shared_keys = ["INTERNAL_SECRET", "JWT_SECRET", "RENDER_WORKER_TOKEN", "EXPORT_TOKEN", "UNSUBSCRIBE_SECRET"]
}

resource "aws_kms_key" "this" {
  description         = "${local.prefix}/* secrets"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.key.json

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/pingvas-${var.environment}-secrets"
  target_key_id = aws_kms_key.this.key_id
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

# -- shared -------------------------------------------------------------------------------

# 64 letters and digits each: above the services' 32-character minimum (pingvas_kit.settings)
resource "random_password" "shared" {
  for_each = toset(local.shared_keys)

  length  = 64
  special = false
}

resource "aws_secretsmanager_secret" "shared" {
  #checkov:skip=CKV2_AWS_57:rotated by terraform (-replace of the random_password), see the header; no Lambda rotation for application tokens
  name                    = "${local.prefix}/shared"
  description             = "Internal identity secret, JWT secret and the service tokens"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.recovery_window_days

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "shared" {
  secret_id     = aws_secretsmanager_secret.shared.id
  secret_string = jsonencode({ for key in local.shared_keys : key => random_password.shared[key].result })
}

# -- databases ----------------------------------------------------------------------------

# letters and digits: the password sits in DATABASE_URL unescaped; 40 characters (db_bootstrap
# wants at least 16)
resource "random_password" "database" {
  for_each = toset(var.database_services)

  length  = 40
  special = false
}

resource "aws_secretsmanager_secret" "database" {
  #checkov:skip=CKV2_AWS_57:rotated by terraform (-replace of the random_password) and the db-bootstrap Job, which sets the role's password from this secret on every release
  for_each = toset(var.database_services)

  name                    = "${local.prefix}/${each.value}/database"
  description             = "The ${each.value} service's login role pingvas_${each.value} (schema ${each.value})"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.recovery_window_days

  tags = var.tags
}

# The service connects as pingvas_<svc> to the database `pingvas`; its schema comes from its
# service name (pingvas_kit.settings schema_name, search_path set by pingvas_kit.db), so the
# URL names no schema. asyncpg negotiates TLS (Aurora forces it: rds.force_ssl=1).
resource "aws_secretsmanager_secret_version" "database" {
  for_each = toset(var.database_services)

  secret_id = aws_secretsmanager_secret.database[each.value].id
  secret_string = jsonencode({
    DATABASE_URL = "postgresql://pingvas_${each.value}:${random_password.database[each.value].result}@${var.database_host}:${var.database_port}/${var.database_name}"
    PASSWORD     = random_password.database[each.value].result
  })
}

# -- redis, opensearch ----------------------------------------------------------------------

resource "aws_secretsmanager_secret" "redis" {
  #checkov:skip=CKV2_AWS_57:the AUTH token is rotated through the redis module (auth_token_update_strategy ROTATE) and written here by terraform
  name                    = "${local.prefix}/redis"
  description             = "ElastiCache URL with its AUTH token"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.recovery_window_days

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "redis" {
  secret_id     = aws_secretsmanager_secret.redis.id
  secret_string = jsonencode({ REDIS_URL = var.redis_url })
}

resource "aws_secretsmanager_secret" "opensearch" {
  #checkov:skip=CKV2_AWS_57:the master user's password is rotated by terraform (opensearch module's random_password) and written here
  name                    = "${local.prefix}/search/opensearch"
  description             = "OpenSearch URL with the fine-grained access control user"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.recovery_window_days

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "opensearch" {
  secret_id     = aws_secretsmanager_secret.opensearch.id
  secret_string = jsonencode({ OPENSEARCH_URL = var.opensearch_url })
}

# -- put by an operator -----------------------------------------------------------------------

# No version: the signing secret and API key come from the Lemon Squeezy dashboard
#   aws secretsmanager put-secret-value --secret-id pingvas/<env>/billing/lemonsqueezy \
#     --secret-string '{"SIGNING_SECRET":"...","API_KEY":"..."}'
resource "aws_secretsmanager_secret" "lemonsqueezy" {
  #checkov:skip=CKV2_AWS_57:issued by Lemon Squeezy: rotated in its dashboard, then put here by an operator
  name                    = "${local.prefix}/billing/lemonsqueezy"
  description             = "Lemon Squeezy SIGNING_SECRET and API_KEY (put by an operator)"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.recovery_window_days

  tags = var.tags
}
