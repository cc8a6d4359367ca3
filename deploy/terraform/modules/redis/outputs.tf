output "primary_endpoint" {
  value = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "port" {
  value = aws_elasticache_replication_group.this.port
}

output "redis_url" {
  description = "rediss://:<token>@<primary>:6379/0 (the secrets module writes it to pingvas/<env>/redis)."
  value       = "rediss://:${random_password.auth.result}@${aws_elasticache_replication_group.this.primary_endpoint_address}:6379/0"
  sensitive   = true
}

output "security_group_id" {
  value = aws_security_group.this.id
}
