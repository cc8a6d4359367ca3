"""What the tenants service publishes and consumes (read by the bus topology and docs)."""

from pingvas_contracts import ServiceSpec

SERVICE = ServiceSpec(
    name="tenants",
    context="tenants",
    description="Tenants, users, memberships, roles, invitations, API keys and partner webhooks.",
    publishes=(
        "pingvas.tenants.tenant.created.v1",
        "pingvas.tenants.tenant.deleted.v1",
        "pingvas.tenants.user.registered.v1",
        "pingvas.tenants.user.preferences_changed.v1",
        "pingvas.tenants.user.verification_requested.v1",
        "pingvas.tenants.user.password_reset_requested.v1",
        "pingvas.tenants.user.password_changed.v1",
        "pingvas.tenants.member.invited.v1",
        "pingvas.tenants.member.joined.v1",
        "pingvas.tenants.member.removed.v1",
        "pingvas.tenants.tenant.settings_changed.v1",
        "pingvas.tenants.apikey.created.v1",
        "pingvas.tenants.apikey.revoked.v1",
        "pingvas.tenants.webhook.disabled.v1",
    ),
    consumes=(
        # the plan shown on the tenant
        "pingvas.billing.subscription.activated.v1",
        "pingvas.billing.subscription.changed.v1",
        "pingvas.billing.subscription.cancelled.v1",
        "pingvas.billing.subscription.expired.v1",
        # partner webhooks (and the plan events above)
        "pingvas.render.job.started.v1",
        "pingvas.render.job.progressed.v1",
        "pingvas.render.job.completed.v1",
        "pingvas.render.job.failed.v1",
        "pingvas.render.job.cancelled.v1",
        "pingvas.render.image.created.v1",
        "pingvas.render.image.deleted.v1",
        "pingvas.billing.credits.exhausted.v1",
    ),
)
