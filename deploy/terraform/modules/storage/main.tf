# The images bucket and the models bucket: SSE-KMS with bucket keys, public access blocked,
# owner-enforced, TLS only, versioned, with lifecycle rules.
#
# Key layout (services/render/src/pingvas_render/worker/images.py, adapters/s3.py):
#   tenants/{tenant_id}/images/{image_id}.png         the full PNG (hundreds of KB to MB)
#   tenants/{tenant_id}/images/{image_id}.thumb.webp  its thumbnail (tens of KB)
# both tagged tenant=<id>, job=<id> by the worker. When a tenant is deleted, render
# (tenant.deleted -> purge_tenant) deletes every object under tenants/{tenant_id}/; with
# versioning on, each delete leaves a delete marker over a noncurrent version, and the
# `deleted-objects` rule below removes those versions for good after deleted_retention_days
# and then the expired markers. So a deleted tenant's data is recoverable for that window
# (a mistaken deletion, a bug in the purge) and gone after it, without any job of ours.
# Objects an interrupted purge left behind are tagged pingvas-purge=tenant-deleted by the
# operator (S3 Batch Operations over the prefix, README "Deleted tenants") and expire in a day.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  buckets = {
    images = "pingvas-${var.environment}-images-${local.account_id}"
    models = "pingvas-${var.environment}-models-${local.account_id}"
  }
}

resource "aws_kms_key" "this" {
  description         = "pingvas-${var.environment} S3 images and models"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.key.json

  tags = var.tags
}

# Like the AWS-managed aws/s3 key: any principal of this account may use the key through
# S3 only; who may read or write which prefix is decided by IAM (the iam module's roles).
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
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "ThroughS3"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*", "kms:Encrypt", "kms:ReEncrypt*", "kms:DescribeKey"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:CallerAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

resource "aws_s3_bucket" "images" {
  #checkov:skip=CKV_AWS_18:server access logs would add a log object per thumbnail read; CloudTrail S3 data events are the audit trail where one is wanted
  #checkov:skip=CKV_AWS_144:one region by design (Seoul); versioning and Aurora's backups are the recovery path, cross-region replication would double storage
  #checkov:skip=CKV2_AWS_62:nothing consumes S3 events: render learns of every object from the worker's report
  bucket        = local.buckets.images
  force_destroy = var.force_destroy

  tags = merge(var.tags, { Name = local.buckets.images, "pingvas.io/bucket" = "images" })
}

resource "aws_s3_bucket" "models" {
  #checkov:skip=CKV_AWS_18:read by the workers at start only; CloudTrail S3 data events are the audit trail where one is wanted
  #checkov:skip=CKV_AWS_144:one region by design (Seoul); the weights can be downloaded again from their publishers
  #checkov:skip=CKV2_AWS_62:nothing consumes S3 events: an operator uploads models and updates the catalog
  bucket        = local.buckets.models
  force_destroy = var.force_destroy

  tags = merge(var.tags, { Name = local.buckets.models, "pingvas.io/bucket" = "models" })
}

locals {
  bucket_resources = {
    images = aws_s3_bucket.images
    models = aws_s3_bucket.models
  }
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.bucket_resources

  bucket = each.value.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = local.bucket_resources

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.bucket_resources

  bucket = each.value.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = local.bucket_resources

  bucket = each.value.id

  rule {
    # the bucket key cuts KMS requests (and their cost) per object to about none
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
  }
}

data "aws_iam_policy_document" "tls_only" {
  for_each = local.bucket_resources

  statement {
    sid       = "TLSOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value.arn, "${each.value.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "TLS12OrLater"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value.arn, "${each.value.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = local.bucket_resources

  bucket = each.value.id
  policy = data.aws_iam_policy_document.tls_only[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "images" {
  bucket = aws_s3_bucket.images.id

  rule {
    id     = "abort-incomplete-multipart"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  # Full PNGs are read once or twice after they are made, then rarely; Intelligent-Tiering
  # moves each to the cheaper tiers by its own reads, with no retrieval fee. Thumbnails are
  # the gallery's every view and small (under 128 KiB, which S3 never tiers anyway): they
  # stay in Standard, and die with their image (render deletes both keys).
  rule {
    id     = "full-images-intelligent-tiering"
    status = "Enabled"

    filter {
      and {
        prefix                   = "tenants/"
        object_size_greater_than = 131072
      }
    }

    transition {
      days          = var.image_tiering_days
      storage_class = "INTELLIGENT_TIERING"
    }
  }

  # Deleted images and deleted tenants' prefixes: gone for good after the window.
  rule {
    id     = "deleted-objects"
    status = "Enabled"

    filter {
      prefix = "tenants/"
    }

    noncurrent_version_expiration {
      noncurrent_days = var.deleted_retention_days
    }

    expiration {
      expired_object_delete_marker = true
    }
  }

  # What an interrupted purge left: tagged by the operator, expired the next day (and its
  # noncurrent versions by the rule above).
  rule {
    id     = "tenant-deleted-tag"
    status = "Enabled"

    filter {
      tag {
        key   = "pingvas-purge"
        value = "tenant-deleted"
      }
    }

    expiration {
      days = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "models" {
  bucket = aws_s3_bucket.models.id

  rule {
    id     = "abort-incomplete-multipart"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 3
    }
  }

  # a replaced checkpoint is kept a while (roll back a bad upload), then removed: model files
  # are gigabytes each
  rule {
    id     = "replaced-models"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.model_noncurrent_days
    }

    expiration {
      expired_object_delete_marker = true
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_cors_configuration" "images" {
  bucket = aws_s3_bucket.images.id

  cors_rule {
    allowed_methods = ["GET", "HEAD"]
    allowed_origins = var.cors_origins
    allowed_headers = ["*"]
    expose_headers  = ["ETag", "Content-Length", "Content-Type"]
    max_age_seconds = 3600
  }
}
