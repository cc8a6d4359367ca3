output "role_arns" {
  description = "The addons' IRSA roles (aws-load-balancer-controller, cluster-autoscaler)."
  value       = { for name, role in aws_iam_role.irsa : name => role.arn }
}

output "cluster_secret_store" {
  value = "aws-secrets-manager"
}

output "prometheus_url" {
  value = "http://kube-prometheus-stack-prometheus.monitoring:9090"
}

output "grafana_admin_password" {
  value     = random_password.grafana.result
  sensitive = true
}
