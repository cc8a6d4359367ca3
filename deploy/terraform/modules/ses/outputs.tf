output "identity_arn" {
  value = aws_sesv2_email_identity.domain.arn
}

output "configuration_set_name" {
  value = aws_sesv2_configuration_set.this.configuration_set_name
}

output "configuration_set_arn" {
  value = aws_sesv2_configuration_set.this.arn
}

output "dns_records" {
  description = "DKIM, MAIL FROM and DMARC records to publish (created when route53_zone_id is set)."
  value       = local.dns_records
}
