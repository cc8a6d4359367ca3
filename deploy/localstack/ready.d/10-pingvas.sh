#!/bin/bash
# Runs inside LocalStack when it is ready (mounted at /etc/localstack/init/ready.d/).
#
# Only what Terraform creates in production and no service creates for itself: the media
# bucket and the verified SES sender. The bus (SNS topics, SQS queues, DLQs,
# subscriptions) is NOT made here: the `provision` service creates it from the services'
# own declarations (`pingvas-bus provision`), exactly as in production.
set -euo pipefail

bucket="${PINGVAS_MEDIA_BUCKET:-pingvas-media}"
domain="${PINGVAS_MAIL_DOMAIN:-pingvas.local}"

awslocal s3api head-bucket --bucket "$bucket" 2>/dev/null || awslocal s3 mb "s3://$bucket"
awslocal ses verify-domain-identity --domain "$domain" >/dev/null
awslocal ses verify-email-identity --email-address "no-reply@$domain"
echo "pingvas: bucket $bucket and SES sender no-reply@$domain ready"
