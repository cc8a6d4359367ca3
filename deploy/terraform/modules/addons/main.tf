# The cluster's addons, as Helm releases, with the IRSA roles they need:
#   nvidia-device-plugin          advertises nvidia.com/gpu on the GPU nodes (the AL2023 NVIDIA
#                                 AMI brings the driver and container toolkit)
#   aws-load-balancer-controller  the gateway's Ingress -> an ALB (target type ip)
#   cluster-autoscaler            adds GPU nodes for pending worker pods, from zero
#   keda                          scales the GPU workers on render's backlog (Prometheus scaler)
#   external-secrets              + the ClusterSecretStore aws-secrets-manager
#   kube-prometheus-stack         release kube-prometheus-stack in monitoring: the chart's KEDA
#                                 query goes to http://kube-prometheus-stack-prometheus.monitoring:9090
#
# Cluster Autoscaler rather than Karpenter: the GPU capacity is one managed node group of
# one instance type per environment, min 0, and the scaling decision is KEDA's (pods); the
# autoscaler only has to turn pending GPU pods into nodes of that group and remove idle
# ones, which it does from the group's ASG tags without another controller, CRDs (NodePool,
# EC2NodeClass) or an interruption queue to run. Karpenter pays off when many instance
# types, Spot diversification or bin-packing across shapes matter; switching later means
# replacing the gpu node group with a NodePool carrying the same label and taint.

locals {
  system_node = { "pingvas.io/node-pool" = "system" }
  irsa = {
    aws-load-balancer-controller = { namespace = "kube-system", service_account = "aws-load-balancer-controller" }
    cluster-autoscaler           = { namespace = "kube-system", service_account = "cluster-autoscaler" }
  }
}

data "aws_iam_policy_document" "irsa_assume" {
  for_each = local.irsa

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${each.value.namespace}:${each.value.service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "irsa" {
  for_each = local.irsa

  name               = "pingvas-${var.environment}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.irsa_assume[each.key].json

  tags = var.tags
}

# The controller's policy as the project publishes it (docs/install/iam_policy.json of
# kubernetes-sigs/aws-load-balancer-controller v2.11): most writes are limited to resources
# tagged elbv2.k8s.aws/cluster, which the controller puts on what it creates.
resource "aws_iam_role_policy" "alb_controller" {
  #checkov:skip=CKV_AWS_290:upstream controller policy: ELB writes are constrained by the elbv2.k8s.aws/cluster tag where AWS supports it
  #checkov:skip=CKV_AWS_355:upstream controller policy: Describe* calls and CreateSecurityGroup/CreateListener take no resource-level constraint
  #checkov:skip=CKV_AWS_289:upstream controller policy: iam:CreateServiceLinkedRole only for elasticloadbalancing.amazonaws.com
  name   = "aws-load-balancer-controller"
  role   = aws_iam_role.irsa["aws-load-balancer-controller"].id
  policy = file("${path.module}/alb-controller-policy.json")
}

data "aws_iam_policy_document" "cluster_autoscaler" {
  #checkov:skip=CKV_AWS_356:Describe* calls and eks:DescribeNodegroup discovery take no resource-level constraint; the writes are limited by the cluster's ASG tag
  statement {
    sid = "Discover"
    actions = [
      "autoscaling:DescribeAutoScalingGroups",
      "autoscaling:DescribeAutoScalingInstances",
      "autoscaling:DescribeLaunchConfigurations",
      "autoscaling:DescribeScalingActivities",
      "autoscaling:DescribeTags",
      "ec2:DescribeImages",
      "ec2:DescribeInstanceTypes",
      "ec2:DescribeLaunchTemplateVersions",
      "ec2:GetInstanceTypesFromInstanceRequirements",
      "eks:DescribeNodegroup",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "ScaleOwnGroups"
    actions   = ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/k8s.io/cluster-autoscaler/${var.cluster_name}"
      values   = ["owned"]
    }
  }
}

resource "aws_iam_role_policy" "cluster_autoscaler" {
  name   = "cluster-autoscaler"
  role   = aws_iam_role.irsa["cluster-autoscaler"].id
  policy = data.aws_iam_policy_document.cluster_autoscaler.json
}

# -- storage for Prometheus -------------------------------------------------------------------

resource "kubernetes_storage_class_v1" "gp3" {
  metadata {
    name = "gp3"
    annotations = {
      "storageclass.kubernetes.io/is-default-class" = "true"
    }
  }

  storage_provisioner    = "ebs.csi.aws.com"
  reclaim_policy         = "Delete"
  volume_binding_mode    = "WaitForFirstConsumer"
  allow_volume_expansion = true

  parameters = {
    type      = "gp3"
    encrypted = "true"
  }
}

# -- releases ---------------------------------------------------------------------------------

resource "helm_release" "nvidia_device_plugin" {
  name             = "nvidia-device-plugin"
  namespace        = "nvidia-device-plugin"
  create_namespace = true
  repository       = "https://nvidia.github.io/k8s-device-plugin"
  chart            = "nvidia-device-plugin"
  version          = var.chart_versions.nvidia_device_plugin

  values = [yamlencode({
    # only on the GPU nodes, past their taint
    nodeSelector = { "pingvas.io/node-pool" = "gpu" }
    tolerations = [
      { key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule" },
    ]
    # the AMI's driver, no GPU feature discovery needed for one GPU type per group
    gfd = { enabled = false }
  })]
}

resource "helm_release" "aws_load_balancer_controller" {
  name       = "aws-load-balancer-controller"
  namespace  = "kube-system"
  repository = "https://aws.github.io/eks-charts"
  chart      = "aws-load-balancer-controller"
  version    = var.chart_versions.aws_load_balancer_controller

  values = [yamlencode({
    clusterName = var.cluster_name
    # IMDS is one hop from the nodes only: the controller is told where it is
    region       = var.region
    vpcId        = var.vpc_id
    replicaCount = 2
    nodeSelector = local.system_node
    serviceAccount = {
      name        = local.irsa["aws-load-balancer-controller"].service_account
      annotations = { "eks.amazonaws.com/role-arn" = aws_iam_role.irsa["aws-load-balancer-controller"].arn }
    }
    enableServiceMutatorWebhook = false
  })]
}

resource "helm_release" "cluster_autoscaler" {
  name       = "cluster-autoscaler"
  namespace  = "kube-system"
  repository = "https://kubernetes.github.io/autoscaler"
  chart      = "cluster-autoscaler"
  version    = var.chart_versions.cluster_autoscaler

  values = [yamlencode({
    cloudProvider = "aws"
    awsRegion     = var.region
    autoDiscovery = { clusterName = var.cluster_name }
    nodeSelector  = local.system_node
    rbac = {
      serviceAccount = {
        name        = local.irsa["cluster-autoscaler"].service_account
        annotations = { "eks.amazonaws.com/role-arn" = aws_iam_role.irsa["cluster-autoscaler"].arn }
      }
    }
    extraArgs = {
      "balance-similar-node-groups" = "true"
      expander                      = "least-waste"
      # the GPU workers' scratch and model volumes are emptyDirs: still scale those nodes down
      "skip-nodes-with-local-storage" = "false"
      # a GPU node costs by the hour: gone 10 minutes after its last worker (KEDA's cooldown
      # already waited worker.cooldownPeriod)
      "scale-down-unneeded-time"   = "10m"
      "scale-down-delay-after-add" = "5m"
      # GPU capacity can take a while in one zone
      "max-node-provision-time" = "20m"
    }
  })]
}

resource "helm_release" "keda" {
  name             = "keda"
  namespace        = "keda"
  create_namespace = true
  repository       = "https://kedacore.github.io/charts"
  chart            = "keda"
  version          = var.chart_versions.keda

  values = [yamlencode({
    nodeSelector = local.system_node
  })]
}

resource "helm_release" "external_secrets" {
  name             = "external-secrets"
  namespace        = "external-secrets"
  create_namespace = true
  repository       = "https://charts.external-secrets.io"
  chart            = "external-secrets"
  version          = var.chart_versions.external_secrets

  values = [yamlencode({
    installCRDs  = true
    nodeSelector = local.system_node
    serviceAccount = {
      name        = "external-secrets"
      annotations = { "eks.amazonaws.com/role-arn" = var.external_secrets_role_arn }
    }
    webhook        = { nodeSelector = local.system_node }
    certController = { nodeSelector = local.system_node }
  })]
}

# a local chart, so the store is created after the CRDs exist (a kubernetes_manifest would
# need them at plan time)
resource "helm_release" "cluster_secret_store" {
  name      = "cluster-secret-store"
  namespace = "external-secrets"
  chart     = "${path.module}/charts/cluster-secret-store"

  values = [yamlencode({
    name   = "aws-secrets-manager"
    region = var.region
    serviceAccount = {
      name      = "external-secrets"
      namespace = "external-secrets"
    }
  })]

  depends_on = [helm_release.external_secrets]
}

resource "random_password" "grafana" {
  length  = 32
  special = false
}

resource "helm_release" "kube_prometheus_stack" {
  # the name and namespace are the chart's: Prometheus is kube-prometheus-stack-prometheus.monitoring
  name             = "kube-prometheus-stack"
  namespace        = "monitoring"
  create_namespace = true
  repository       = "https://prometheus-community.github.io/helm-charts"
  chart            = "kube-prometheus-stack"
  version          = var.chart_versions.kube_prometheus_stack

  values = [yamlencode({
    prometheus = {
      prometheusSpec = {
        retention    = var.prometheus_retention
        nodeSelector = local.system_node
        # the chart's ServiceMonitors carry release: kube-prometheus-stack
        serviceMonitorSelector = { matchLabels = { release = "kube-prometheus-stack" } }
        storageSpec = {
          volumeClaimTemplate = {
            spec = {
              storageClassName = kubernetes_storage_class_v1.gp3.metadata[0].name
              accessModes      = ["ReadWriteOnce"]
              resources        = { requests = { storage = "${var.prometheus_storage_gb}Gi" } }
            }
          }
        }
      }
    }
    alertmanager = { alertmanagerSpec = { nodeSelector = local.system_node } }
    grafana      = { nodeSelector = local.system_node }
    prometheusOperator = {
      nodeSelector = local.system_node
    }
  })]

  set_sensitive {
    name  = "grafana.adminPassword"
    value = random_password.grafana.result
  }
}
