"""What the billing service publishes and consumes (read by the bus topology and docs)."""

from pingvas_contracts import ServiceSpec

SERVICE = ServiceSpec(
    name="billing",
    context="billing",
    description="Plans, Lemon Squeezy checkout and webhooks, subscriptions and the credit ledger.",
    publishes=(
        "pingvas.billing.subscription.activated.v1",
        "pingvas.billing.subscription.changed.v1",
        "pingvas.billing.subscription.cancelled.v1",
        "pingvas.billing.subscription.expired.v1",
        "pingvas.billing.payment.succeeded.v1",
        "pingvas.billing.payment.failed.v1",
        "pingvas.billing.credits.granted.v1",
        "pingvas.billing.credits.expired.v1",
        "pingvas.billing.credits.exhausted.v1",
    ),
    consumes=(
        # free plan and its first grant; closing the customer
        "pingvas.tenants.tenant.created.v1",
        "pingvas.tenants.tenant.deleted.v1",
        # the credit ledger mirrors render's reservations: reserve, settle, release
        "pingvas.render.job.queued.v1",
        "pingvas.render.job.completed.v1",
        "pingvas.render.job.failed.v1",
        "pingvas.render.job.cancelled.v1",
    ),
)
