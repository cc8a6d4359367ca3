output "cluster_name" {
  value = aws_eks_cluster.this.name
}

output "cluster_arn" {
  value = aws_eks_cluster.this.arn
}

output "cluster_endpoint" {
  value = aws_eks_cluster.this.endpoint
}

output "cluster_certificate_authority_data" {
  value = aws_eks_cluster.this.certificate_authority[0].data
}

output "oidc_provider_arn" {
  value = aws_iam_openid_connect_provider.this.arn
}

output "oidc_issuer" {
  description = "The issuer without https:// (IRSA trust conditions)."
  value       = local.oidc_issuer
}

output "node_security_group_id" {
  description = "The cluster security group, which EKS puts on every managed node (and so on every pod)."
  value       = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}

output "node_role_arn" {
  value = aws_iam_role.node.arn
}

output "secrets_kms_key_arn" {
  value = aws_kms_key.secrets.arn
}

output "gpu_node_group" {
  description = "What the chart's worker.nodeSelector and worker.tolerations must match."
  value = {
    name   = aws_eks_node_group.gpu.node_group_name
    labels = aws_eks_node_group.gpu.labels
    taint  = local.gpu_taint
  }
}
