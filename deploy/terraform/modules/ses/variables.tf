variable "domain" {
  description = "The sending domain, e.g. pingvas.example (mail comes from no-reply@<domain>)."
  type        = string
}

variable "mail_from_subdomain" {
  description = "The custom MAIL FROM domain's label: bounces go to <label>.<domain> (SPF aligned)."
  type        = string
  default     = "mail"
}

variable "events_topic_arn" {
  description = "The SNS topic SES publishes bounce, complaint, delivery and reject events to (the bus module's ses_events_topic_arn)."
  type        = string
}

variable "route53_zone_id" {
  description = "Hosted zone of the domain: the DKIM, MAIL FROM and DMARC records are created there. null: publish the records of the dns_records output yourself."
  type        = string
  default     = null
}

variable "dmarc_policy" {
  description = "DMARC record (with route53_zone_id)."
  type        = string
  default     = "v=DMARC1; p=quarantine; adkim=s; aspf=s"
}

variable "tags" {
  type    = map(string)
  default = {}
}
