"""The tenant a purchase applies to is bound when that tenant starts the checkout: a webhook
whose custom data names another tenant is recorded and not applied (docs/billing.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pingvas_billing.adapters.db import payments, webhook_events
from pingvas_billing.adapters.lemonsqueezy import binding_is_for, checkout_binding

from .conftest import SECRET, invoice_body, order_body, subscription_body


def _now() -> datetime:
    return datetime.now(UTC)


def repointed(body: dict, tenant_id: str, binding: str | None) -> dict:
    """The body with its custom data edited (what a checkout link's query can do)."""
    custom = {"tenant_id": tenant_id}
    if binding is not None:
        custom["checkout"] = binding
    return {**body, "meta": {**body["meta"], "custom_data": custom}}


def test_a_binding_names_one_tenant_and_needs_the_secret():
    binding = checkout_binding(SECRET, "tenant-a")
    assert binding_is_for(SECRET, "tenant-a", binding)
    assert not binding_is_for(SECRET, "tenant-b", binding)
    assert not binding_is_for("another-secret", "tenant-a", binding)
    nonce = binding.split(".")[0]
    for bad in (None, "", "x", nonce, f"{nonce}.", f".{binding.split('.')[1]}", 7, ["x"]):
        assert not binding_is_for(SECRET, "tenant-a", bad)


async def test_a_purchase_pointed_at_another_tenant_is_recorded_not_applied(billing):
    attacker, victim = await billing.tenant(), await billing.tenant()
    before = await billing.events(tenant_id=victim)
    at = _now()
    # the attacker's own checkout binding, with the victim's tenant id in the custom data
    own = checkout_binding(SECRET, attacker)
    created = subscription_body("subscription_created", tenant_id=attacker, updated_at=at)
    for binding in (own, None, "forged.0123456789abcdef0123456789abcdef"):
        body = repointed(created, victim, binding)
        await billing.send(body)
        assert await billing.outcome(body) == "ignored_unbound"
    order = repointed(order_body("order_created", tenant_id=attacker, created_at=at), victim, own)
    await billing.send(order)
    assert await billing.outcome(order) == "ignored_unbound"

    row = await billing.row(victim)
    assert row.plan == "free" and row.ls_subscription_id is None
    assert await billing.rows(payments) == []
    assert await billing.events(tenant_id=victim) == before
    recorded = await billing.rows(webhook_events, tenant_id=victim)
    assert len(recorded) == 4 and {r.outcome for r in recorded} == {"ignored_unbound"}


async def test_the_tenant_that_started_the_checkout_gets_it_and_keeps_it(billing):
    owner, other = await billing.tenant(), await billing.tenant()
    at = _now()
    created = subscription_body("subscription_created", tenant_id=owner, updated_at=at)
    await billing.send(created)
    assert await billing.outcome(created) == "applied"
    assert (await billing.row(owner)).plan == "pro"

    # later events of the held subscription go on without a binding (one made before
    # bindings existed) ...
    updated = repointed(
        subscription_body(
            "subscription_updated",
            tenant_id=owner,
            updated_at=at + timedelta(minutes=1),
            status="past_due",
        ),
        owner,
        None,
    )
    await billing.send(updated)
    assert await billing.outcome(updated) == "applied"
    assert (await billing.row(owner)).status == "past_due"
    # ... but never move to another tenant, binding or not
    for binding in (None, checkout_binding(SECRET, other)):
        moved = repointed(
            subscription_body(
                "subscription_updated",
                tenant_id=owner,
                updated_at=at + timedelta(minutes=2),
                status="cancelled",
                ends_at=at + timedelta(days=30),
            ),
            other,
            binding,
        )
        await billing.send(moved)
        assert await billing.outcome(moved) in ("ignored_unbound", "ignored_unknown")
    invoice = repointed(
        invoice_body(
            "subscription_payment_success", tenant_id=owner, invoice_id="77", created_at=at
        ),
        other,
        None,
    )
    await billing.send(invoice)
    assert await billing.outcome(invoice) in ("ignored_unbound", "ignored_unknown")
    assert (await billing.row(owner)).status == "past_due"
    assert (await billing.row(other)).plan == "free"
