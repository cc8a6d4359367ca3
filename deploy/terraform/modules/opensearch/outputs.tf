output "endpoint" {
  description = "The VPC endpoint's host name."
  value       = aws_opensearch_domain.this.endpoint
}

output "domain_arn" {
  value = aws_opensearch_domain.this.arn
}

output "url" {
  description = "https://pingvas:<password>@<endpoint>:443 (the secrets module writes it as OPENSEARCH_URL)."
  value       = "https://${local.master_user}:${random_password.master.result}@${aws_opensearch_domain.this.endpoint}:443"
  sensitive   = true
}

output "security_group_id" {
  value = aws_security_group.this.id
}
