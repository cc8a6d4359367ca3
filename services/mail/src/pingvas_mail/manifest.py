"""What the mail service publishes and consumes (read by the bus topology and docs).

Its own mail.bounced is not consumed from the bus: bounces arrive as SES notifications."""

from pingvas_contracts import ServiceSpec

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
        "pingvas.tenants.tenant.created.v1",
        "pingvas.tenants.member.joined.v1",
        "pingvas.tenants.member.removed.v1",
        "pingvas.billing.subscription.changed.v1",
        "pingvas.billing.subscription.expired.v1",
        "pingvas.tenants.tenant.deleted.v1",
        "pingvas.tenants.user.verification_requested.v1",
        "pingvas.tenants.user.password_reset_requested.v1",
        "pingvas.tenants.member.invited.v1",
        "pingvas.billing.subscription.activated.v1",
        "pingvas.billing.subscription.cancelled.v1",
        "pingvas.billing.payment.failed.v1",
        "pingvas.billing.credits.exhausted.v1",
        # only for users who opted in
        "pingvas.render.job.completed.v1",
    ),
)
