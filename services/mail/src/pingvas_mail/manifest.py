"""What the mail service publishes and consumes (read by the bus topology and docs).

Its own mail.bounced is not consumed from the bus: bounces arrive as SES notifications,
through the SNS topic and SQS queue `<prefix>-mail-ses-events` it declares here. On AWS it
sends with SES v2 (SendEmail, raw content, with the configuration set) and reads that
queue; creating the identity, configuration set, topic and queue at start-up
(MAIL_CREATE_RESOURCES) is for the local run only: in AWS Terraform owns them."""

from pingvas_contracts import AwsAccess, QueueGrant, ServiceSpec, SesEventsSpec

SES_EVENTS = SesEventsSpec(name="mail-ses-events")

SERVICE = ServiceSpec(
    name="mail",
    context="mail",
    description="Transactional and opt-in mail from events: templates, SES, suppression list.",
    publishes=(
        "pingvas.mail.sent.v1",
        "pingvas.mail.bounced.v1",
    ),
    consumes=(
        # the directory: who people are, which teams they own, which plan a team is on
        "pingvas.tenants.user.registered.v1",
        "pingvas.tenants.user.preferences_changed.v1",
        "pingvas.tenants.tenant.created.v1",
        "pingvas.tenants.member.joined.v1",
        "pingvas.tenants.member.removed.v1",
        "pingvas.billing.subscription.changed.v1",
        "pingvas.billing.subscription.expired.v1",
        "pingvas.tenants.tenant.deleted.v1",
        "pingvas.tenants.user.verification_requested.v1",
        "pingvas.tenants.user.password_reset_requested.v1",
        "pingvas.tenants.user.password_changed.v1",
        "pingvas.tenants.member.invited.v1",
        "pingvas.billing.subscription.activated.v1",
        "pingvas.billing.subscription.cancelled.v1",
        "pingvas.billing.payment.failed.v1",
        "pingvas.billing.credits.exhausted.v1",
        "pingvas.tenants.webhook.disabled.v1",
        # only for users who opted in
        "pingvas.render.job.completed.v1",
    ),
    ses_events=SES_EVENTS,
    aws=AwsAccess(
        ses=("ses:SendEmail", "ses:SendRawEmail"),
        ses_why=(
            "SES v2 SendEmail with raw MIME content and the configuration set "
            "(adapters/ses.py send_raw); both send actions, as AWS's own grant does "
            "(CDK EmailIdentity.grantSendEmail), on the identity and configuration set only"
        ),
        queues=(
            QueueGrant(
                SES_EVENTS.name,
                ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueUrl"),
                "bounces and complaints (usecases/notifications.py, Ses.find_queue)",
            ),
        ),
    ),
)
