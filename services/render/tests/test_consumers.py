"""Entitlements from tenants' and billing's events, and the purge of a deleted tenant."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pingvas_render.adapters.db import entitlements, images, job_events, jobs, scheduler

from pingvas_contracts import example
from pingvas_contracts.events.billing import (
    CreditsExhausted,
    CreditsGranted,
    SubscriptionActivated,
    SubscriptionChanged,
    SubscriptionExpired,
)
from pingvas_contracts.events.tenants import TenantCreated, TenantDeleted
from pingvas_contracts.plans import PLANS

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def subscription(
    model: type[SubscriptionActivated] | type[SubscriptionChanged],
    plan: str,
    updated_at: datetime,
    **fields: object,
) -> SubscriptionActivated | SubscriptionChanged:
    return example(
        model,
        subscription_id=str(uuid.uuid4()),
        plan=plan,
        status="active",
        interval="month",
        lemon_squeezy=None,
        entitlements=PLANS[plan].model_dump(),
        current_period_start=updated_at,
        current_period_end=updated_at + timedelta(days=30),
        updated_at=updated_at,
        **fields,
    )


def grant(credits: int, reason: str = "purchase", plan: str = "free") -> CreditsGranted:
    return example(
        CreditsGranted,
        grant_id=str(uuid.uuid4()),
        credits=credits,
        reason=reason,
        plan=plan,
        balance_after=credits,
        granted_at=T0,
        updated_at=T0,
    )


async def test_plans_and_credits_from_billing(render):
    tenant = await render.tenant()
    me = render.user(tenant)
    ent = (await render.get("/api/v1/entitlements", me)).json()
    assert ent["plan"] == "free" and ent["credits_available"] == 50

    # billing's own first grant of the Free plan's credits is the same 50: counted once
    await render.deliver(grant(50, "plan_start"), tenant_id=tenant)
    assert await render.balance(tenant) == {"available": 50, "reserved": 0}
    await render.deliver(grant(500), tenant_id=tenant)
    assert await render.balance(tenant) == {"available": 550, "reserved": 0}

    await render.deliver(
        subscription(SubscriptionActivated, "pro", T0 + timedelta(hours=2)), tenant_id=tenant
    )
    # an older change that arrives late changes nothing
    await render.deliver(
        subscription(
            SubscriptionChanged,
            "starter",
            T0 + timedelta(hours=1),
            previous_plan="free",
            previous_status="active",
        ),
        tenant_id=tenant,
    )
    ent = (await render.get("/api/v1/entitlements", me)).json()
    assert ent["plan"] == "pro" and ent["max_concurrent_jobs"] == 4 and ent["priority_weight"] == 4
    assert ent["credits_available"] == 550  # limits change, the balance does not
    models = {m["key"] for m in (await render.get("/api/v1/models", me)).json()["items"]}
    assert "sdxl-base-1.0" in models

    await render.deliver(
        example(
            SubscriptionExpired,
            subscription_id=str(uuid.uuid4()),
            expired_plan="pro",
            plan="free",
            lemon_squeezy=None,
            entitlements=PLANS["free"].model_dump(),
            expired_at=T0 + timedelta(days=30),
            updated_at=T0 + timedelta(days=30),
        ),
        tenant_id=tenant,
    )
    assert (await render.get("/api/v1/entitlements", me)).json()["plan"] == "free"
    # events that change nothing render enforces are accepted
    await render.deliver(
        example(
            CreditsExhausted,
            plan="free",
            balance=0,
            next_grant_at=None,
            exhausted_at=T0,
            updated_at=T0,
        ),
        tenant_id=tenant,
    )


async def test_billing_first_then_tenant_created(render):
    tenant = str(uuid.uuid4())
    await render.deliver(grant(50, "plan_start"), tenant_id=tenant)
    await render.deliver(
        example(
            TenantCreated,
            name="Beta",
            slug="beta-team",
            owner_user_id=str(uuid.uuid4()),
            owner_email="b@beta.example",
            owner_display_name="B",
            locale="en",
            created_at=T0,
        ),
        tenant_id=tenant,
    )
    assert await render.balance(tenant) == {"available": 50, "reserved": 0}


@pytest.mark.parametrize("db_backend", ["sqlite", "postgres"], indirect=True)
async def test_tenant_deleted_purges_everything(render_for, db_backend):
    async with render_for(db_backend) as render:
        gone, kept = await render.tenant(), await render.tenant()
        finished = await render.queued(render.user(gone))
        await render.start(finished["id"])
        assert (await render.complete(finished, gone)).status_code == 200
        waiting = await render.queued(render.user(gone))
        survivor = await render.queued(render.user(kept))
        await render.start(survivor["id"])
        await render.complete(survivor, kept)
        assert len(await render.s3_keys(f"tenants/{gone}/")) == 2

        await render.deliver(
            example(
                TenantDeleted,
                slug="gone-team",
                deleted_by_user_id=None,
                reason="owner_request",
                deleted_at=datetime.now(UTC),
            ),
            tenant_id=gone,
        )
        for table in (jobs, job_events, images, entitlements, scheduler):
            assert await render.count(table, tenant_id=gone) == 0, table.name
        assert await render.s3_keys(f"tenants/{gone}/") == []
        (cancelled,) = await render.events("job.cancelled")
        assert cancelled["data"]["job_id"] == waiting["id"]
        assert cancelled["data"]["cancelled_by"] == "system"
        # the other tenant keeps everything
        assert await render.count(images, tenant_id=kept) == 1
        assert len(await render.s3_keys(f"tenants/{kept}/")) == 2
