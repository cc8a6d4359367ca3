output "endpoint" {
  description = "The writer endpoint."
  value       = aws_rds_cluster.this.endpoint
}

output "reader_endpoint" {
  value = aws_rds_cluster.this.reader_endpoint
}

output "port" {
  value = aws_rds_cluster.this.port
}

output "database_name" {
  value = aws_rds_cluster.this.database_name
}

output "cluster_arn" {
  value = aws_rds_cluster.this.arn
}

output "master_secret_arn" {
  value = aws_rds_cluster.this.master_user_secret[0].secret_arn
}

output "master_secret_name" {
  description = "The RDS-managed master secret (the chart's secrets.databaseAdmin)."
  value       = data.aws_secretsmanager_secret.master.name
}

output "master_secret_kms_key_arn" {
  value = coalesce(var.master_secret_kms_key_arn, aws_kms_key.this.arn)
}

output "security_group_id" {
  value = aws_security_group.this.id
}
