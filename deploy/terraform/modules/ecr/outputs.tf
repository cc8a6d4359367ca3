output "registry" {
  description = "<account>.dkr.ecr.<region>.amazonaws.com (the chart's image.registry)."
  value       = split("/", values(aws_ecr_repository.this)[0].repository_url)[0]
}

output "repository_urls" {
  value = { for name, repo in aws_ecr_repository.this : name => repo.repository_url }
}

output "repository_arns" {
  value = { for name, repo in aws_ecr_repository.this : name => repo.arn }
}

output "kms_key_arn" {
  description = "The repositories' key (the release role encrypts the layers it pushes with it)."
  value       = aws_kms_key.this.arn
}
