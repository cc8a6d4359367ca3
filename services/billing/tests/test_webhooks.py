"""POST /webhooks/lemonsqueezy and the processor: signature, recording, replay, outcomes,
retries, and replicas sharing the work on Postgres."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from pingvas_billing.adapters.db import ledger, outbox, subscriptions, webhook_events
from pingvas_billing.usecases.webhooks import Processor

from pingvas_kit.problems import PROBLEM_JSON

from .conftest import SECRET, invoice_body, sign, subscription_body


def _now() -> datetime:
    return datetime.now(UTC)


async def test_a_forged_or_missing_signature_is_401_and_nothing_is_recorded(billing):
    tenant = await billing.tenant()
    raw = json.dumps(
        subscription_body("subscription_created", tenant_id=tenant, updated_at=_now())
    ).encode()
    before = await billing.events()
    for headers in (
        {},
        {"X-Signature": ""},
        {"X-Signature": sign(raw, "not-the-store-secret")},
        {"X-Signature": sign(raw + b" ")},
        {"X-Signature": "zz" * 32},
        {"X-Signature": "서명".encode()},  # not ASCII at all
    ):
        r = await billing.post_raw(raw, headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["content-type"].startswith(PROBLEM_JSON)
        assert r.json()["status"] == 401
    await billing.processor.drain()
    assert await billing.rows(webhook_events) == []
    assert (await billing.row(tenant)).plan == "free"
    assert await billing.events() == before


async def test_a_signed_delivery_is_recorded_and_answered_without_an_identity(billing):
    tenant = await billing.tenant()
    body = subscription_body("subscription_created", tenant_id=tenant, updated_at=_now())
    raw = json.dumps(body).encode()
    # upper-case hex is still the same signature; no X-Pingvas-Identity header at all
    r = await billing.post_raw(raw, {"X-Signature": sign(raw).upper()})
    assert r.status_code == 200, r.text
    (row,) = await billing.rows(webhook_events)
    assert row.event_name == "subscription_created"
    assert row.tenant_id == tenant
    assert row.test_mode is True
    assert row.body == raw.decode()
    assert (await billing.outcome(body)) == "applied"


async def test_a_replayed_delivery_is_one_row_one_state_change_and_one_grant(billing):
    tenant = await billing.tenant()
    body = subscription_body("subscription_created", tenant_id=tenant, updated_at=_now())
    first = await billing.send(body)
    assert first.json() == {"received": True, "duplicate": False}
    for _ in range(3):
        again = await billing.send(body)
        assert again.json() == {"received": True, "duplicate": True}
    assert len(await billing.rows(webhook_events)) == 1
    assert len(await billing.events("subscription.activated", tenant)) == 2  # free, then pro
    grants = await billing.rows(ledger, tenant_id=tenant, kind="grant")
    assert sorted(g.credits for g in grants) == [50, 2000]

    # the same facts in a new delivery (LS re-sent with another webhook_id): still one
    body["meta"]["webhook_id"] = "another-delivery"
    await billing.send(body)
    assert await billing.outcome(body) == "ignored_stale"
    assert len(await billing.events("subscription.activated", tenant)) == 2
    assert len(await billing.rows(ledger, tenant_id=tenant, kind="grant")) == 2


async def test_a_test_mode_event_on_a_live_store_changes_nothing(billing_for):
    async with billing_for(lemonsqueezy_test_mode=False) as billing:
        tenant = await billing.tenant()
        before = await billing.events()
        body = subscription_body(
            "subscription_created", tenant_id=tenant, updated_at=_now(), test_mode=True
        )
        await billing.send(body)
        assert await billing.outcome(body) == "ignored_test_mode"
        row = await billing.row(tenant)
        assert (row.plan, row.ls_subscription_id) == ("free", None)
        assert await billing.events() == before
        assert len(await billing.rows(ledger, tenant_id=tenant, kind="grant")) == 1  # Free's

        live = subscription_body(
            "subscription_created", tenant_id=tenant, updated_at=_now(), test_mode=False
        )
        await billing.send(live)
        assert await billing.outcome(live) == "applied"
        assert (await billing.row(tenant)).plan == "pro"


async def test_unknown_events_variants_and_tenants_are_ignored(billing):
    tenant = await billing.tenant()
    before = await billing.events()
    cases = [
        subscription_body("subscription_created", tenant_id=None, updated_at=_now()),
        subscription_body(
            "subscription_created", tenant_id=tenant, variant_id="999999", updated_at=_now()
        ),
        {
            "meta": {"event_name": "license_key_created", "custom_data": {"tenant_id": tenant}},
            "data": {"type": "license-keys", "id": "1", "attributes": {"test_mode": True}},
        },
    ]
    cases[2]["meta"]["test_mode"] = True
    for body in cases:
        await billing.send(body)
        assert await billing.outcome(body) == "ignored_unknown"
    assert (await billing.row(tenant)).plan == "free"
    assert await billing.events() == before


async def test_a_failing_event_is_retried_with_back_off_then_left_for_an_operator(billing_for):
    async with billing_for(max_webhook_attempts=3, process_interval_s=0.02) as billing:
        tenant = await billing.tenant()
        now = _now()
        # a renewal whose subscription has not arrived: failed, retried
        renewal = invoice_body(
            "subscription_payment_success", tenant_id=tenant, invoice_id="7741203", created_at=now
        )
        await billing.send(renewal)
        row = (await billing.rows(webhook_events, event_name="subscription_payment_success"))[0]
        assert row.outcome == "failed"
        assert "not known yet" in row.error
        # the subscription arrives; the retry applies the renewal
        await billing.send(
            subscription_body(
                "subscription_created",
                tenant_id=tenant,
                updated_at=now - timedelta(days=30),
                created_at=now - timedelta(days=30),
            )
        )
        for _ in range(200):
            (row,) = await billing.rows(webhook_events, id=row.id)
            if row.outcome == "applied":
                break
            await asyncio.sleep(0.02)
        assert row.outcome == "applied" and row.attempts >= 2 and row.error is None
        assert len(await billing.events("payment.succeeded", tenant)) == 1

        # malformed: fails every time, given up after max_webhook_attempts
        broken = subscription_body("subscription_updated", tenant_id=tenant, updated_at=now)
        broken["data"]["attributes"]["status"] = "dancing"
        await billing.send(broken)
        for _ in range(300):
            (bad,) = await billing.rows(webhook_events, event_name="subscription_updated")
            if bad.attempts >= 3:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        (bad,) = await billing.rows(webhook_events, event_name="subscription_updated")
        assert (bad.outcome, bad.attempts) == ("failed", 3)
        assert bad.error == "unknown subscription status"
        assert (await billing.row(tenant)).status == "active"


@pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
async def test_replicas_share_the_events_and_apply_each_once_on_postgres(billing_for, db_backend):
    async with billing_for(**db_backend, process_interval_s=3600) as billing:
        now = _now()
        tenants = [await billing.tenant() for _ in range(12)]
        bodies = []
        for i, tenant in enumerate(tenants):
            body = subscription_body(
                "subscription_created", tenant_id=tenant, sub_id=str(2000 + i), updated_at=now
            )
            bodies.append(body)
            await billing.send(body, process=False)
        # four replicas' processors against the same schema
        replicas = [
            Processor(billing.runtime, billing.settings, billing.service.app.state.plans)
            for _ in range(4)
        ]
        counts = await asyncio.gather(*(p.drain() for p in replicas), billing.processor.drain())
        assert sum(counts) <= len(bodies)
        for body in bodies:
            assert await billing.outcome(body) == "applied"
        rows = await billing.rows(webhook_events)
        assert all(r.attempts == 1 for r in rows)
        async with billing.db.sessionmaker() as session:
            activated = await session.scalar(
                sa.select(sa.func.count())
                .select_from(outbox)
                .where(outbox.c.type == "pingvas.billing.subscription.activated.v1")
            )
            paid = await session.scalar(
                sa.select(sa.func.count())
                .select_from(subscriptions)
                .where(subscriptions.c.plan == "pro")
            )
        assert activated == 2 * len(tenants)  # each tenant's Free, then its Pro, once
        assert paid == len(tenants)
        grants = await billing.rows(ledger, kind="grant")
        assert sorted(g.credits for g in grants).count(2000) == len(tenants)


def test_the_signature_is_lemon_squeezys():
    # the hex HMAC-SHA256 of the raw body with the signing secret (LS's documentation)
    import hashlib
    import hmac

    raw = b'{"meta":{"event_name":"order_created"}}'
    assert sign(raw) == hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
