output "kms_key_arn" {
  description = "The key of every pingvas/<env>/* secret (and Aurora's master secret)."
  value       = aws_kms_key.this.arn
}

output "secret_arns" {
  value = merge(
    { shared = aws_secretsmanager_secret.shared.arn },
    { for svc, s in aws_secretsmanager_secret.database : "${svc}/database" => s.arn },
    {
      redis                  = aws_secretsmanager_secret.redis.arn
      "search/opensearch"    = aws_secretsmanager_secret.opensearch.arn
      "billing/lemonsqueezy" = aws_secretsmanager_secret.lemonsqueezy.arn
    },
  )
}

output "secret_names" {
  value = sort(concat(
    [aws_secretsmanager_secret.shared.name, aws_secretsmanager_secret.redis.name],
    [aws_secretsmanager_secret.opensearch.name, aws_secretsmanager_secret.lemonsqueezy.name],
    [for s in aws_secretsmanager_secret.database : s.name],
  ))
}
