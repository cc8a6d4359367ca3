# SES v2: the domain identity with Easy DKIM (2048-bit), a custom MAIL FROM domain, and the
# configuration set `pingvas-mail` that the mail service sends with (its adapter names it on
# every send). Bounce, complaint, delivery and reject events go to the bus module's SNS
# topic, which feeds the queue pingvas-mail-ses-events (services/mail/.../adapters/ses.py).

locals {
  mail_from_domain = "${var.mail_from_subdomain}.${var.domain}"
  region           = data.aws_region.current.name
}

data "aws_region" "current" {}

resource "aws_sesv2_configuration_set" "this" {
  configuration_set_name = "pingvas-mail"

  delivery_options {
    tls_policy = "REQUIRE"
  }

  reputation_options {
    reputation_metrics_enabled = true
  }

  sending_options {
    sending_enabled = true
  }

  suppression_options {
    suppressed_reasons = ["BOUNCE", "COMPLAINT"]
  }

  tags = var.tags
}

resource "aws_sesv2_configuration_set_event_destination" "sns" {
  configuration_set_name = aws_sesv2_configuration_set.this.configuration_set_name
  event_destination_name = "pingvas-mail-events"

  event_destination {
    enabled              = true
    matching_event_types = ["BOUNCE", "COMPLAINT", "DELIVERY", "REJECT"]

    sns_destination {
      topic_arn = var.events_topic_arn
    }
  }
}

resource "aws_sesv2_email_identity" "domain" {
  email_identity         = var.domain
  configuration_set_name = aws_sesv2_configuration_set.this.configuration_set_name

  dkim_signing_attributes {
    next_signing_key_length = "RSA_2048_BIT"
  }

  tags = var.tags
}

resource "aws_sesv2_email_identity_mail_from_attributes" "domain" {
  email_identity         = aws_sesv2_email_identity.domain.email_identity
  mail_from_domain       = local.mail_from_domain
  behavior_on_mx_failure = "USE_DEFAULT_VALUE"
}

# keyed by fixed names: the DKIM tokens are unknown until the identity exists
locals {
  dkim_tokens = aws_sesv2_email_identity.domain.dkim_signing_attributes[0].tokens
  dns_records = {
    dkim-0 = {
      name   = "${local.dkim_tokens[0]}._domainkey.${var.domain}"
      type   = "CNAME"
      record = "${local.dkim_tokens[0]}.dkim.amazonses.com"
    }
    dkim-1 = {
      name   = "${local.dkim_tokens[1]}._domainkey.${var.domain}"
      type   = "CNAME"
      record = "${local.dkim_tokens[1]}.dkim.amazonses.com"
    }
    dkim-2 = {
      name   = "${local.dkim_tokens[2]}._domainkey.${var.domain}"
      type   = "CNAME"
      record = "${local.dkim_tokens[2]}.dkim.amazonses.com"
    }
    mail-from-mx = {
      name   = local.mail_from_domain
      type   = "MX"
      record = "10 feedback-smtp.${local.region}.amazonses.com"
    }
    mail-from-spf = {
      name   = local.mail_from_domain
      type   = "TXT"
      record = "v=spf1 include:amazonses.com -all"
    }
    dmarc = {
      name   = "_dmarc.${var.domain}"
      type   = "TXT"
      record = var.dmarc_policy
    }
  }
}

resource "aws_route53_record" "this" {
  for_each = var.route53_zone_id == null ? {} : local.dns_records

  zone_id = var.route53_zone_id
  name    = each.value.name
  type    = each.value.type
  ttl     = 1800
  records = [each.value.record]
}
