# IAM roles for service accounts, one per workload, built from deploy/terraform/access.json
# (`pingvas-bus access` writes it from the services' specs; a test keeps the file and the
# code equal, and checks every statement against what the code calls on AWS).
#
# Role pingvas-<env>-<workload> trusts the cluster's OIDC provider for exactly
# system:serviceaccount:<namespace>:<workload>. Its inline policy holds the workload's
# statements and nothing else: each resource reference of access.json becomes an ARN here
# (topic:<context>, queue:<consumer>, dlq:<consumer>, work_queue:<name>, ses_events_queue,
# bucket:<bucket>, object:<bucket>:<key pattern>, ses_identity, ses_configuration_set). A
# reference without an ARN fails the plan instead of widening anything. A workload
# without statements (the gateway) gets a role with no policy.

data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition
  workloads = var.access.workloads

  bucket_arns = {
    images = var.images_bucket_arn
    models = var.models_bucket_arn
  }

  ref_arns = merge(
    { for k, v in var.topic_arns : "topic:${k}" => [v] },
    { for k, v in var.queue_arns : "queue:${k}" => [v] },
    { for k, v in var.dlq_arns : "dlq:${k}" => [v] },
    { for k, v in var.work_queue_arns : "work_queue:${k}" => [v] },
    { for k, v in local.bucket_arns : "bucket:${k}" => [v] },
    {
      ses_events_queue      = var.ses_events_queue_arn == null ? [] : [var.ses_events_queue_arn]
      ses_identity          = var.ses_identity_arns
      ses_configuration_set = [var.ses_configuration_set_arn]
    },
  )

  policies = {
    for name, workload in local.workloads : name => [
      for s in workload.statements : {
        sid        = s.sid
        actions    = s.actions
        conditions = s.conditions
        resources = flatten([
          for r in s.resources : startswith(r, "object:") ? ["${local.bucket_arns[split(":", r)[1]]}/${split(":", r)[2]}"] : local.ref_arns[r]
        ])
      }
    ] if length(workload.statements) > 0
  }

  tags = merge(var.tags, { "pingvas:component" = "iam", "pingvas:environment" = var.environment })
}

data "aws_iam_policy_document" "trust" {
  for_each = local.workloads

  statement {
    sid     = "ItsServiceAccountOnly"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.namespace}:${each.key}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "workload" {
  for_each = local.workloads

  name                 = "pingvas-${var.environment}-${each.key}"
  description          = "IRSA role of ${var.namespace}/${each.key} (service ${each.value.service}); rights from access.json"
  assume_role_policy   = data.aws_iam_policy_document.trust[each.key].json
  max_session_duration = 3600
  tags                 = merge(local.tags, { "pingvas:workload" = each.key, "pingvas:service" = each.value.service })
}

data "aws_iam_policy_document" "workload" {
  for_each = local.policies

  dynamic "statement" {
    for_each = each.value

    content {
      sid       = statement.value.sid
      effect    = "Allow"
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.conditions

        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_iam_role_policy" "workload" {
  for_each = local.policies

  name   = "pingvas-${var.environment}-${each.key}"
  role   = aws_iam_role.workload[each.key].id
  policy = data.aws_iam_policy_document.workload[each.key].json
}

# -- External Secrets Operator ------------------------------------------------------------

data "aws_iam_policy_document" "external_secrets_trust" {
  statement {
    sid     = "ItsServiceAccountOnly"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = ["system:serviceaccount:external-secrets:external-secrets"]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "external_secrets" {
  name                 = "pingvas-${var.environment}-external-secrets"
  description          = "IRSA role of External Secrets Operator: reads pingvas/${var.environment}/* and Aurora's master secret"
  assume_role_policy   = data.aws_iam_policy_document.external_secrets_trust.json
  max_session_duration = 3600
  tags                 = merge(local.tags, { "pingvas:workload" = "external-secrets" })
}

data "aws_iam_policy_document" "external_secrets" {
  statement {
    sid     = "ReadPingvasSecrets"
    effect  = "Allow"
    actions = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    resources = [
      "arn:${local.partition}:secretsmanager:${var.region}:${var.account_id}:secret:pingvas/${var.environment}/*",
      var.aurora_master_secret_arn,
    ]
  }

  dynamic "statement" {
    for_each = var.secrets_kms_key_arn == null ? [] : [var.secrets_kms_key_arn]

    content {
      sid       = "DecryptThroughSecretsManager"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${var.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "external_secrets" {
  name   = "pingvas-${var.environment}-external-secrets"
  role   = aws_iam_role.external_secrets.id
  policy = data.aws_iam_policy_document.external_secrets.json
}
