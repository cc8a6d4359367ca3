# The event bus, built from deploy/terraform/bus-topology.json (`pingvas-bus topology`
# writes it from the services' specs; a test keeps the file and the code equal):
# an SNS topic per publishing context, an SQS queue and DLQ per consuming service, one
# subscription per (topic, queue) pair with raw delivery and a filter policy on the
# `type` message attribute, exactly as pingvas_kit.bus.sqs provisions it locally.
# Beside the bus: the services' work queues (render-work) and the SES events topic and
# queue (mail's bounces and complaints). Nothing here is listed by hand.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.name
  partition = data.aws_partition.current.partition

  topics        = var.topology.topics
  queues        = var.topology.queues
  work_queues   = try(var.topology.work_queues, {})
  ses_events    = try(var.topology.ses_events, null)
  has_ses       = local.ses_events != null
  subscriptions = { for s in var.topology.subscriptions : "${s.context}.${s.consumer}" => s }

  # the topics each consumer's queue receives from (its queue policy allows only those)
  topics_of = {
    for consumer in keys(local.queues) : consumer => distinct([
      for s in var.topology.subscriptions : s.context if s.consumer == consumer
    ])
  }

  sqs_managed_sse = var.kms_key_arn == null
  # SNS has no service-managed SSE: the AWS managed key, or the given one
  topic_key      = coalesce(var.kms_key_arn, "alias/aws/sns")
  ses_events_key = var.kms_key_arn != null ? var.kms_key_arn : one(aws_kms_key.ses_events[*].arn)

  tags = merge(var.tags, { "pingvas:component" = "bus", "pingvas:environment" = var.environment })
}

# -- the bus ------------------------------------------------------------------------------

resource "aws_sns_topic" "context" {
  for_each = local.topics

  name              = each.value
  kms_master_key_id = local.topic_key
  tags              = merge(local.tags, { "pingvas:context" = each.key })
}

resource "aws_sqs_queue" "dlq" {
  for_each = local.queues

  name                      = each.value.dlq
  message_retention_seconds = var.topology.dlq_retention_seconds
  sqs_managed_sse_enabled   = local.sqs_managed_sse ? true : null
  kms_master_key_id         = var.kms_key_arn
  tags                      = merge(local.tags, { "pingvas:consumer" = each.key })
}

resource "aws_sqs_queue" "consumer" {
  for_each = local.queues

  name                       = each.value.queue
  visibility_timeout_seconds = var.topology.visibility_timeout
  receive_wait_time_seconds  = 20
  sqs_managed_sse_enabled    = local.sqs_managed_sse ? true : null
  kms_master_key_id          = var.kms_key_arn
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn
    maxReceiveCount     = var.topology.max_receive_count
  })
  tags = merge(local.tags, { "pingvas:consumer" = each.key })
}

# a DLQ takes dead letters from its own queue only
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  for_each = local.queues

  queue_url = aws_sqs_queue.dlq[each.key].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.consumer[each.key].arn]
  })
}

data "aws_iam_policy_document" "consumer_queue" {
  for_each = local.queues

  statement {
    sid       = "AllowItsTopics"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.consumer[each.key].arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for context in local.topics_of[each.key] : aws_sns_topic.context[context].arn]
    }
  }

  statement {
    sid       = "DenyWithoutTls"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.consumer[each.key].arn]

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
}

resource "aws_sqs_queue_policy" "consumer" {
  for_each = local.queues

  queue_url = aws_sqs_queue.consumer[each.key].id
  policy    = data.aws_iam_policy_document.consumer_queue[each.key].json
}

resource "aws_sns_topic_subscription" "consumer" {
  for_each = local.subscriptions

  topic_arn            = aws_sns_topic.context[each.value.context].arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.consumer[each.value.consumer].arn
  raw_message_delivery = true
  filter_policy_scope  = "MessageAttributes"
  filter_policy        = jsonencode({ type = sort(each.value.types) })

  # the queue must accept the topic before the first message
  depends_on = [aws_sqs_queue_policy.consumer]
}

# -- work queues (render's dispatcher -> GPU workers) -------------------------------------

resource "aws_sqs_queue" "work_dlq" {
  for_each = local.work_queues

  name                      = each.value.dlq
  message_retention_seconds = each.value.dlq_retention_seconds
  sqs_managed_sse_enabled   = local.sqs_managed_sse ? true : null
  kms_master_key_id         = var.kms_key_arn
  tags                      = merge(local.tags, { "pingvas:work-queue" = each.key, "pingvas:owner" = each.value.owner })
}

resource "aws_sqs_queue" "work" {
  for_each = local.work_queues

  name                       = each.value.queue
  visibility_timeout_seconds = each.value.visibility_timeout
  sqs_managed_sse_enabled    = local.sqs_managed_sse ? true : null
  kms_master_key_id          = var.kms_key_arn
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.work_dlq[each.key].arn
    maxReceiveCount     = each.value.max_receive_count
  })
  tags = merge(local.tags, { "pingvas:work-queue" = each.key, "pingvas:owner" = each.value.owner })
}

resource "aws_sqs_queue_redrive_allow_policy" "work_dlq" {
  for_each = local.work_queues

  queue_url = aws_sqs_queue.work_dlq[each.key].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.work[each.key].arn]
  })
}

# -- SES events: bounces and complaints from the configuration set ------------------------

resource "aws_kms_key" "ses_events" {
  count = local.has_ses && var.kms_key_arn == null ? 1 : 0

  description             = "pingvas-${var.environment}: the SES events topic (SES cannot publish under alias/aws/sns)"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  tags                    = local.tags

  # the standard root statement (the account administers the key through IAM; in a key
  # policy the resource is always the key itself, written "*"), and SES and SNS of this
  # account may use it for the topic's messages
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "SesAndSnsUseIt"
        Effect    = "Allow"
        Principal = { Service = ["ses.amazonaws.com", "sns.amazonaws.com"] }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = local.account } }
      },
    ]
  })
}

resource "aws_kms_alias" "ses_events" {
  count = local.has_ses && var.kms_key_arn == null ? 1 : 0

  name          = "alias/pingvas-${var.environment}-ses-events"
  target_key_id = aws_kms_key.ses_events[0].key_id
}

resource "aws_sns_topic" "ses_events" {
  count = local.has_ses ? 1 : 0

  name              = local.ses_events.topic
  kms_master_key_id = local.ses_events_key
  tags              = merge(local.tags, { "pingvas:owner" = local.ses_events.owner })
}

data "aws_iam_policy_document" "ses_events_topic" {
  count = local.has_ses ? 1 : 0

  statement {
    sid       = "SesPublishes"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.ses_events[0].arn]

    principals {
      type        = "Service"
      identifiers = ["ses.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }

    # the configuration set's event destination, or an identity's feedback notifications
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values = [
        "arn:${local.partition}:ses:${local.region}:${local.account}:configuration-set/*",
        "arn:${local.partition}:ses:${local.region}:${local.account}:identity/*",
      ]
    }
  }
}

resource "aws_sns_topic_policy" "ses_events" {
  count = local.has_ses ? 1 : 0

  arn    = aws_sns_topic.ses_events[0].arn
  policy = data.aws_iam_policy_document.ses_events_topic[0].json
}

resource "aws_sqs_queue" "ses_events_dlq" {
  count = local.has_ses ? 1 : 0

  name                      = local.ses_events.dlq
  message_retention_seconds = local.ses_events.dlq_retention_seconds
  sqs_managed_sse_enabled   = local.sqs_managed_sse ? true : null
  kms_master_key_id         = var.kms_key_arn
  tags                      = merge(local.tags, { "pingvas:owner" = local.ses_events.owner })
}

resource "aws_sqs_queue" "ses_events" {
  count = local.has_ses ? 1 : 0

  name                      = local.ses_events.queue
  receive_wait_time_seconds = 20
  sqs_managed_sse_enabled   = local.sqs_managed_sse ? true : null
  kms_master_key_id         = var.kms_key_arn
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.ses_events_dlq[0].arn
    maxReceiveCount     = local.ses_events.max_receive_count
  })
  tags = merge(local.tags, { "pingvas:owner" = local.ses_events.owner })
}

resource "aws_sqs_queue_redrive_allow_policy" "ses_events_dlq" {
  count = local.has_ses ? 1 : 0

  queue_url = aws_sqs_queue.ses_events_dlq[0].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.ses_events[0].arn]
  })
}

data "aws_iam_policy_document" "ses_events_queue" {
  count = local.has_ses ? 1 : 0

  statement {
    sid       = "AllowTheSesEventsTopic"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.ses_events[0].arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.ses_events[0].arn]
    }
  }

  statement {
    sid       = "DenyWithoutTls"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.ses_events[0].arn]

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
}

resource "aws_sqs_queue_policy" "ses_events" {
  count = local.has_ses ? 1 : 0

  queue_url = aws_sqs_queue.ses_events[0].id
  policy    = data.aws_iam_policy_document.ses_events_queue[0].json
}

# SNS's JSON envelope, not raw: mail dedupes on the SNS MessageId
# (pingvas_mail.domain.ses_notifications.parse)
resource "aws_sns_topic_subscription" "ses_events" {
  count = local.has_ses ? 1 : 0

  topic_arn            = aws_sns_topic.ses_events[0].arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.ses_events[0].arn
  raw_message_delivery = false

  depends_on = [aws_sqs_queue_policy.ses_events]
}
