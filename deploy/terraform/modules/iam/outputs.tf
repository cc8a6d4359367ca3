output "role_arns" {
  description = "IRSA role ARN by workload (= ServiceAccount name): the chart's eks.amazonaws.com/role-arn annotations."
  value       = { for name, role in aws_iam_role.workload : name => role.arn }
}

output "external_secrets_role_arn" {
  description = "IRSA role of External Secrets Operator (external-secrets/external-secrets)."
  value       = aws_iam_role.external_secrets.arn
}
