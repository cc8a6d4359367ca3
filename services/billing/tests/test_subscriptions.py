"""Subscriptions from Lemon Squeezy's events: every status, order safety, payments, the
grace period, tenant.created and tenant.deleted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pingvas_billing.adapters.db import (
    balances,
    customers,
    ledger,
    payments,
    subscriptions,
    webhook_events,
)

from pingvas_contracts import example
from pingvas_contracts.events.tenants import TenantDeleted
from pingvas_contracts.plans import PLANS

from .conftest import TEAM_MONTH, invoice_body, order_body, subscription_body

FREE = PLANS["free"].model_dump()
PRO = PLANS["pro"].model_dump()


def _now() -> datetime:
    return datetime.now(UTC)


async def test_tenant_created_opens_the_free_plan_once(billing):
    created = _now()
    tenant = await billing.tenant(created_at=created)
    row = await billing.row(tenant)
    assert (row.plan, row.status, row.interval, row.ls_subscription_id) == (
        "free",
        "active",
        None,
        None,
    )
    (activated,) = await billing.events("subscription.activated", tenant)
    assert activated["data"]["plan"] == "free"
    assert activated["data"]["entitlements"] == FREE
    (grant,) = await billing.rows(ledger, tenant_id=tenant, kind="grant")
    assert grant.credits == 50
    assert grant.reference.startswith(f"plan_start:{tenant}:")
    (granted,) = await billing.events("credits.granted", tenant)
    assert granted["data"]["reason"] == "plan_start"


@pytest.mark.parametrize("db_backend", ["sqlite", "postgres"], indirect=True)
async def test_updated_before_created_ends_in_the_right_state(billing_for, db_backend):
    async with billing_for(**db_backend) as billing:
        tenant = await billing.tenant()
        t0 = _now()
        created = subscription_body("subscription_created", tenant_id=tenant, updated_at=t0)
        upgraded = subscription_body(
            "subscription_updated",
            tenant_id=tenant,
            variant_id=TEAM_MONTH,
            created_at=t0,
            updated_at=t0 + timedelta(minutes=5),
        )
        await billing.send(upgraded)
        await billing.send(created)
        assert await billing.outcome(upgraded) == "applied"
        assert await billing.outcome(created) == "ignored_stale"
        row = await billing.row(tenant)
        assert (row.plan, row.status, row.interval, row.ls_variant_id) == (
            "team",
            "active",
            "month",
            TEAM_MONTH,
        )
        (_free, paid) = await billing.events("subscription.activated", tenant)
        assert paid["data"]["plan"] == "team"
        assert paid["data"]["entitlements"] == PLANS["team"].model_dump()
        assert paid["data"]["lemon_squeezy"]["subscription_id"] == "1048576"
        # one plan start for the paid plan: Free's credits expired, Team's granted
        grants = await billing.rows(ledger, tenant_id=tenant, kind="grant")
        assert sorted(g.credits for g in grants) == [50, 6000]
        (customer,) = await billing.rows(customers, tenant_id=tenant)
        assert customer.ls_customer_id == "2210934"


STATUS_EVENT = {
    "on_trial": ("subscription_updated", "subscription.changed"),
    "paused": ("subscription_paused", "subscription.changed"),
    "past_due": ("subscription_updated", "subscription.changed"),
    "unpaid": ("subscription_updated", "subscription.changed"),
    "cancelled": ("subscription_cancelled", "subscription.cancelled"),
    "expired": ("subscription_expired", "subscription.expired"),
}


@pytest.mark.parametrize("status", sorted(STATUS_EVENT))
async def test_every_status_maps_one_to_one_and_publishes_its_event(billing, status):
    tenant = await billing.tenant()
    t0 = _now() - timedelta(hours=2)  # past due for an hour: within the grace period
    await billing.send(
        subscription_body("subscription_created", tenant_id=tenant, created_at=t0, updated_at=t0)
    )
    name, event = STATUS_EVENT[status]
    ends = t0 + timedelta(days=30) if status in ("cancelled", "expired") else None
    body = subscription_body(
        name,
        tenant_id=tenant,
        status=status,
        created_at=t0,
        updated_at=t0 + timedelta(hours=1),
        ends_at=ends,
        trial_ends_at=t0 + timedelta(days=7) if status == "on_trial" else None,
    )
    await billing.send(body)
    assert await billing.outcome(body) == "applied"
    row = await billing.row(tenant)
    assert row.status == status
    (published,) = await billing.events(event, tenant)
    data = published["data"]
    if status == "expired":
        assert (row.plan, data["expired_plan"], data["plan"]) == ("free", "pro", "free")
        assert data["entitlements"] == FREE
        # back to Free: the paid period's unused credits expire, Free's are granted
        grants = await billing.rows(ledger, tenant_id=tenant, kind="grant")
        assert sorted(g.credits for g in grants) == [50, 50, 2000]
    else:
        assert (row.plan, data["status"], data["plan"]) == ("pro", status, "pro")
        assert data["entitlements"] == PRO  # reduced only after the grace period
    if status == "cancelled":
        assert data["cancelled_by"] == "customer"
        assert data["ends_at"].startswith(ends.strftime("%Y-%m-%dT%H:%M:%S"))
    if status in ("past_due", "unpaid"):
        assert row.past_due_since is not None
    # the same state again: nothing more
    again = subscription_body(
        "subscription_updated",
        tenant_id=tenant,
        status=status,
        created_at=t0,
        updated_at=t0 + timedelta(minutes=90),
        ends_at=ends,
        trial_ends_at=t0 + timedelta(days=7) if status == "on_trial" else None,
    )
    await billing.send(again)
    assert len(await billing.events(event, tenant)) == 1


async def test_cancelled_then_resumed_then_paused_and_unpaused(billing):
    tenant = await billing.tenant()
    t = _now() - timedelta(days=5)
    steps = [
        ("subscription_created", "active", None),
        ("subscription_cancelled", "cancelled", "subscription.cancelled"),
        ("subscription_resumed", "active", "subscription.changed"),
        ("subscription_paused", "paused", "subscription.changed"),
        ("subscription_unpaused", "active", "subscription.changed"),
    ]
    for i, (name, status, _event) in enumerate(steps):
        await billing.send(
            subscription_body(
                name,
                tenant_id=tenant,
                status=status,
                created_at=t,
                updated_at=t + timedelta(hours=i),
                ends_at=t + timedelta(days=30) if status == "cancelled" else None,
            )
        )
    changed = await billing.events("subscription.changed", tenant)
    assert [(e["data"]["previous_status"], e["data"]["status"]) for e in changed] == [
        ("cancelled", "active"),
        ("active", "paused"),
        ("paused", "active"),
    ]
    stamps = [
        e["data"]["updated_at"]
        for e in await billing.events(tenant_id=tenant)
        if e["type"].startswith("pingvas.billing.subscription.")
    ]
    assert stamps == sorted(stamps)  # never backwards: projections apply each one
    assert (await billing.row(tenant)).status == "active"


async def test_payment_failed_grace_reduces_and_recovery_restores(billing_for):
    async with billing_for(grace_period_s=1.0) as billing:
        tenant = await billing.tenant()
        t0 = _now() - timedelta(days=30)
        await billing.send(
            subscription_body(
                "subscription_created", tenant_id=tenant, created_at=t0, updated_at=t0
            )
        )
        failed = invoice_body(
            "subscription_payment_failed",
            tenant_id=tenant,
            invoice_id="7741388",
            status="pending",
            created_at=_now(),
        )
        await billing.send(failed)
        (pf,) = await billing.events("payment.failed", tenant)
        assert pf["data"]["attempt"] == 1
        assert pf["data"]["update_payment_method_url"].startswith("https://")
        row = await billing.row(tenant)
        assert row.status == "past_due" and not row.entitlements_reduced
        (changed,) = await billing.events("subscription.changed", tenant)
        assert changed["data"]["status"] == "past_due"
        assert changed["data"]["entitlements"] == PRO
        view = await billing.subscription(tenant)
        assert "Update your payment method" in view["guidance"]
        assert view["update_payment_method_url"] in view["guidance"]

        # the grace period passes: the sweep cuts the limits to Free's
        for _ in range(200):
            if (await billing.row(tenant)).entitlements_reduced:
                break
            await asyncio.sleep(0.05)
        row = await billing.row(tenant)
        assert row.entitlements_reduced and row.status == "past_due"
        reduced = (await billing.events("subscription.changed", tenant))[-1]
        assert reduced["data"]["entitlements"] == FREE
        assert reduced["data"]["plan"] == "pro"
        assert (await billing.subscription(tenant))["entitlements_reduced"] is True
        await asyncio.sleep(0.2)  # the sweep does not repeat itself
        assert len(await billing.events("subscription.changed", tenant)) == 2

        # paid after all: the plan's entitlements come back
        recovered = invoice_body(
            "subscription_payment_recovered",
            tenant_id=tenant,
            invoice_id="7741388",
            created_at=_now(),
        )
        await billing.send(recovered)
        restored = (await billing.events("subscription.changed", tenant))[-1]
        assert restored["data"]["status"] == "active"
        assert restored["data"]["entitlements"] == PRO
        assert restored["data"]["updated_at"] > reduced["data"]["updated_at"]
        row = await billing.row(tenant)
        assert (row.status, row.entitlements_reduced, row.past_due_since) == ("active", False, None)
        (payment,) = await billing.rows(payments, tenant_id=tenant)
        assert (payment.reference, payment.status) == ("invoice:7741388", "paid")
        assert len(await billing.events("payment.succeeded", tenant)) == 1
        assert (await billing.subscription(tenant))["guidance"] is None


async def test_a_renewal_pays_and_grants_the_new_period_once(billing):
    tenant = await billing.tenant()
    t0 = _now() - timedelta(days=30)
    await billing.send(
        subscription_body("subscription_created", tenant_id=tenant, created_at=t0, updated_at=t0)
    )
    renewal = invoice_body(
        "subscription_payment_success", tenant_id=tenant, invoice_id="7741203", created_at=_now()
    )
    for _ in range(2):
        await billing.send(renewal)
    sub = await billing.row(tenant)
    grants = await billing.rows(ledger, tenant_id=tenant, kind="grant")
    renewals = [g for g in grants if g.reference.startswith(f"renewal:{sub.id}:")]
    assert [g.credits for g in renewals] == [2000]
    (paid,) = await billing.events("payment.succeeded", tenant)
    assert paid["data"]["amount_minor"] == 2900
    assert paid["data"]["lemon_squeezy_invoice_id"] == "7741203"
    expired = await billing.events("credits.expired", tenant)
    assert [e["data"]["credits"] for e in expired] == [50, 2000]  # Free's, then the period's
    # the initial invoice is the order's payment: no second receipt, no grant
    initial = invoice_body(
        "subscription_payment_success",
        tenant_id=tenant,
        invoice_id="7741100",
        billing_reason="initial",
        created_at=t0,
    )
    await billing.send(initial)
    assert len(await billing.events("payment.succeeded", tenant)) == 1
    assert len(await billing.rows(ledger, tenant_id=tenant, kind="grant")) == 3


async def test_orders_are_recorded_and_refunds_marked(billing):
    tenant = await billing.tenant()
    t = _now()
    order = order_body("order_created", tenant_id=tenant, created_at=t)
    await billing.send(order)
    await billing.send(order)
    (payment,) = await billing.rows(payments, tenant_id=tenant)
    assert (payment.reference, payment.status, payment.plan, payment.amount_minor) == (
        "order:5830021",
        "paid",
        "pro",
        2900,
    )
    (paid,) = await billing.events("payment.succeeded", tenant)
    assert paid["data"]["lemon_squeezy_order_id"] == "5830021"
    refund = order_body(
        "order_refunded",
        tenant_id=tenant,
        status="refunded",
        created_at=t,
        updated_at=t + timedelta(hours=1),
    )
    await billing.send(refund)
    (payment,) = await billing.rows(payments, tenant_id=tenant)
    assert payment.status == "refunded"
    grants_before = await billing.rows(ledger, tenant_id=tenant)
    assert all(g.kind != "refund" for g in grants_before)  # credits are not clawed back


async def test_tenant_deleted_purges_every_billing_table(billing):
    tenant = await billing.tenant()
    other = await billing.tenant()
    t = _now()
    await billing.send(subscription_body("subscription_created", tenant_id=tenant, updated_at=t))
    await billing.send(order_body("order_created", tenant_id=tenant, created_at=t))
    await billing.deliver(
        example(
            TenantDeleted,
            slug="haneul-studio",
            deleted_by_user_id=None,
            reason="owner_request",
            deleted_at=t,
        ),
        tenant_id=tenant,
    )
    for table in (customers, subscriptions, webhook_events, ledger, balances, payments):
        assert await billing.rows(table, tenant_id=tenant) == [], table.name
    assert (await billing.row(other)).plan == "free"
    assert await billing.rows(ledger, tenant_id=other)
