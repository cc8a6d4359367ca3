"""What the render service publishes and consumes (read by the bus topology and docs)."""

from pingvas_contracts import ServiceSpec

SERVICE = ServiceSpec(
    name="render",
    context="render",
    description="Generation jobs, fair scheduling, GPU workers driving InvokeAI, and images.",
    publishes=(
        "pingvas.render.job.queued.v1",
        "pingvas.render.job.started.v1",
        "pingvas.render.job.completed.v1",
        "pingvas.render.job.failed.v1",
        "pingvas.render.job.cancelled.v1",
        "pingvas.render.image.created.v1",
        "pingvas.render.image.deleted.v1",
    ),
    consumes=(
        # every billing event feeds the tenant's entitlements projection
        "pingvas.billing.subscription.activated.v1",
        "pingvas.billing.subscription.changed.v1",
        "pingvas.billing.subscription.cancelled.v1",
        "pingvas.billing.subscription.expired.v1",
        "pingvas.billing.payment.succeeded.v1",
        "pingvas.billing.payment.failed.v1",
        "pingvas.billing.credits.granted.v1",
        "pingvas.billing.credits.expired.v1",
        "pingvas.billing.credits.exhausted.v1",
        "pingvas.tenants.tenant.created.v1",
        # purge the tenant's jobs and images
        "pingvas.tenants.tenant.deleted.v1",
    ),
)
