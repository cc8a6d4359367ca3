output "role_arn" {
  description = "For the GitHub environment's secret AWS_RELEASE_ROLE_ARN."
  value       = aws_iam_role.release.arn
}
