"""Events in any order, delivered twice: the index and the directory end up right."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from pingvas_search.adapters.db import image_state

from pingvas_contracts import envelope_of, example
from pingvas_contracts.events.billing import (
    SubscriptionActivated,
    SubscriptionChanged,
    SubscriptionExpired,
)
from pingvas_contracts.events.tenants import TenantCreated, TenantDeleted

S = TypeVar("S", SubscriptionActivated, SubscriptionChanged)


def tenant_created(
    tenant_id: str, name: str, email: str, created_at: datetime | None = None
) -> TenantCreated:
    return example(
        TenantCreated,
        name=name,
        slug=name.lower().replace(" ", "-"),
        owner_user_id=str(uuid.uuid4()),
        owner_email=email,
        owner_display_name="Owner",
        locale="ko",
        plan="free",
        created_at=created_at or datetime.now(UTC),
    )


def tenant_deleted(slug: str, reason: str) -> TenantDeleted:
    return example(
        TenantDeleted,
        slug=slug,
        deleted_by_user_id=None,
        reason=reason,
        deleted_at=datetime.now(UTC),
    )


def subscription(model: type[S], plan: str, status: str, updated_at: datetime, **fields: Any) -> S:
    return example(
        model,
        subscription_id=str(uuid.uuid4()),
        plan=plan,
        status=status,
        interval="month",
        lemon_squeezy=None,
        entitlements={
            "monthly_credits": 2000,
            "max_concurrent_jobs": 4,
            "max_images_per_job": 4,
            "max_width": 1024,
            "max_height": 1024,
            "allowed_models": ["tiny-sd1"],
            "priority_weight": 4,
        },
        current_period_start=updated_at,
        current_period_end=updated_at + timedelta(days=30),
        updated_at=updated_at,
        **fields,
    )


@pytest.mark.parametrize("db_backend", ["sqlite", "postgres"], indirect=True)
async def test_created_then_deleted_and_the_reverse(search_for, db_backend):
    async with search_for(**db_backend) as search:
        t = str(uuid.uuid4())
        first = await search.created(t, "a cat on a sofa")
        assert await search.found(t, "cat") == ["a cat on a sofa"]
        await search.deleted(t, first)
        assert await search.found(t, "cat") == []

        # deleted arrives first (the bus does not keep order): the late created stays out
        second = str(uuid.uuid4())
        await search.deleted(t, second)
        await search.created(t, "a cat in a box", image_id=second)
        assert await search.found(t, "cat") == []
        assert (await search.suggest(search.user(t), "cat")).json()["items"] == []


async def test_a_redelivered_event_changes_nothing(search):
    t = str(uuid.uuid4())
    data = search.image(t, "lighthouse at dawn")
    event = envelope_of(data, tenant_id=t)
    await search.runtime.consumer(event)
    await search.runtime.consumer(event)
    body = (await search.find(search.user(t), q="lighthouse")).json()
    assert body["total"] == 1
    assert (await search.suggest(search.user(t), "light")).json()["items"][0]["images"] == 1


async def test_a_deleted_tenant_leaves_no_trace_in_the_index(search):
    t, other = str(uuid.uuid4()), str(uuid.uuid4())
    await search.deliver(tenant_created(t, "Acme", "o@acme.test"), tenant_id=t)
    await search.created(t, "a cat on a sofa")
    await search.created(other, "a cat on a sofa")
    await search.deliver(tenant_deleted("acme", "owner_request"), tenant_id=t)
    assert await search.found(t, "cat") == []
    assert await search.found(other, "cat") == ["a cat on a sofa"]
    # a late image of the deleted tenant is not indexed
    await search.created(t, "a late cat")
    assert await search.found(t, "cat") == []
    async with search.db.sessionmaker() as session:
        states = (
            (
                await session.execute(
                    sa.select(image_state.c.state).where(image_state.c.tenant_id == t)
                )
            )
            .scalars()
            .all()
        )
    assert sorted(states) == ["deleted", "deleted"]


@pytest.mark.parametrize("db_backend", ["sqlite", "postgres"], indirect=True)
async def test_the_operators_directory_follows_tenants_and_billing(search_for, db_backend):
    async with search_for(**db_backend) as search:
        t = str(uuid.uuid4())
        later = datetime.now(UTC)
        # billing's newer state first, then an older one, then the sign-up itself
        await search.deliver(
            subscription(SubscriptionActivated, "pro", "active", later), tenant_id=t
        )
        await search.deliver(
            subscription(
                SubscriptionChanged,
                "starter",
                "active",
                later - timedelta(hours=1),
                previous_plan="free",
                previous_status="active",
            ),
            tenant_id=t,
        )
        await search.deliver(
            tenant_created(t, "Moonlight Studio", "Owner@Moon.test"),
            tenant_id=t,
        )
        op = search.operator()
        (row,) = (
            await search.client.get("/api/v1/admin/tenants", params={"q": "moonlight"}, headers=op)
        ).json()["items"]
        assert (
            row["tenant_id"] == t
            and row["plan"] == "pro"
            and row["subscription_status"] == "active"
        )
        assert row["owner_email"] == "Owner@Moon.test" and row["status"] == "active"
        # by owner email, any case; by plan
        assert [
            r["tenant_id"]
            for r in (
                await search.client.get(
                    "/api/v1/admin/tenants", params={"q": "OWNER@moon"}, headers=op
                )
            ).json()["items"]
        ] == [t]
        assert t not in [
            r["tenant_id"]
            for r in (
                await search.client.get(
                    "/api/v1/admin/tenants", params={"plan": "free"}, headers=op
                )
            ).json()["items"]
        ]

        await search.deliver(tenant_deleted("moonlight-studio", "operator"), tenant_id=t)
        (row,) = (
            await search.client.get(
                "/api/v1/admin/tenants", params={"q": "moonlight", "status": "deleted"}, headers=op
            )
        ).json()["items"]
        assert row["owner_email"] is None and row["deleted_at"]


async def test_an_expired_subscription_leaves_the_tenant_on_free(search):
    t = str(uuid.uuid4())
    await search.deliver(tenant_created(t, "Ember", "o@ember.test"), tenant_id=t)
    later = datetime.now(UTC)
    await search.deliver(
        subscription(SubscriptionActivated, "pro", "active", later - timedelta(days=30)),
        tenant_id=t,
    )
    expired = example(SubscriptionExpired, expired_plan="pro", updated_at=later, expired_at=later)
    await search.deliver(expired, tenant_id=t)
    (row,) = (
        await search.client.get(
            "/api/v1/admin/tenants", params={"q": "ember"}, headers=search.operator()
        )
    ).json()["items"]
    assert row["plan"] == "free" and row["subscription_status"] == "expired"


async def test_only_operators_see_the_directory(search):
    t = str(uuid.uuid4())
    await search.deliver(tenant_created(t, "Acme", "o@acme.test"), tenant_id=t)
    url = "/api/v1/admin/tenants"
    assert (await search.client.get(url)).status_code == 401
    assert (await search.client.get(url, headers=search.user(t, role="owner"))).status_code == 403
    assert (
        await search.client.get(url, headers=search.key(t, ("search:read",)))
    ).status_code == 403
    r = await search.client.get(url, headers=search.operator())
    assert r.status_code == 200 and [i["name"] for i in r.json()["items"]] == ["Acme"]
    bad = await search.client.get(url, params={"cursor": "%%%"}, headers=search.operator())
    assert bad.status_code == 400


async def test_directory_pages_newest_first(search):
    ids = []
    for i in range(5):
        t = str(uuid.uuid4())
        ids.append(t)
        await search.deliver(
            tenant_created(
                t, f"Team {i}", f"o{i}@x.test", datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=i)
            ),
            tenant_id=t,
        )
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (
            await search.client.get(
                "/api/v1/admin/tenants", params=params, headers=search.operator()
            )
        ).json()
        seen += [r["tenant_id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids[::-1]
