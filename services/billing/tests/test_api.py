"""The billing API through the gateway's eyes: who may see what, and only their own tenant."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from pingvas_kit.identity import HEADER, Identity, issue
from pingvas_kit.problems import PROBLEM_JSON

from .conftest import invoice_body, order_body, subscription_body


async def test_plans_are_listed_for_anyone_the_gateway_signed_visitors_too(billing):
    tenant = await billing.tenant()
    r = await billing.client.get(
        "/api/v1/billing/plans", headers=billing.user(tenant, role="member")
    )
    assert r.status_code == 200, r.text
    plans = {p["code"]: p for p in r.json()["items"]}
    assert list(plans) == ["free", "starter", "pro", "team"]
    assert plans["free"]["prices"] == {} and plans["free"]["monthly_credits"] == 50
    assert plans["pro"]["prices"]["month"] == {
        "amount_minor": 2900,
        "currency": "USD",
        "variant_id": "412090",
    }
    assert plans["team"]["limits"]["max_concurrent_jobs"] == 8
    assert all(p["rollover"] is False for p in plans.values())

    # the public home page shows them: a visitor without an account (anonymous) sees them too
    anonymous = Identity(principal_id="anonymous", kind="anonymous", tenant_id=None)
    secret = billing.settings.internal_secret.get_secret_value()
    headers = {HEADER: issue(anonymous, secret, audience="billing")}
    r = await billing.client.get("/api/v1/billing/plans", headers=headers)
    assert r.status_code == 200 and [p["code"] for p in r.json()["items"]] == list(plans)
    # but only through the gateway
    for headers in ({}, {HEADER: "forged"}):
        r = await billing.client.get("/api/v1/billing/plans", headers=headers)
        assert r.status_code == 401
        assert r.headers["content-type"].startswith(PROBLEM_JSON)


async def test_a_token_for_render_or_a_replayed_one_is_refused(billing):
    tenant = await billing.tenant()
    owner = Identity(principal_id="u1", kind="user", tenant_id=tenant, roles=("owner",))
    secret = billing.settings.internal_secret.get_secret_value()
    url = "/api/v1/billing/subscription"
    # a leaked token minted for render does not open billing
    for_render = {HEADER: issue(owner, secret, audience="render")}
    r = await billing.client.get(url, headers=for_render)
    assert r.status_code == 401 and r.headers["content-type"].startswith(PROBLEM_JSON)
    # billing's own token works once; the same token again is a replay
    once = {HEADER: issue(owner, secret, audience="billing")}
    assert (await billing.client.get(url, headers=once)).status_code == 200
    again = await billing.client.get(url, headers=once)
    assert again.status_code == 401
    assert again.json()["detail"] == "The forwarded identity is not valid."


async def test_the_subscription_is_the_callers_tenants_only(billing):
    mine, theirs = await billing.tenant(), await billing.tenant()
    t = datetime.now(UTC)
    await billing.send(subscription_body("subscription_created", tenant_id=theirs, updated_at=t))
    await billing.send(
        subscription_body(
            "subscription_updated",
            tenant_id=theirs,
            status="past_due",
            updated_at=t + timedelta(minutes=1),
            created_at=t,
        )
    )
    me = await billing.subscription(mine)
    assert (me["plan"], me["status"], me["guidance"]) == ("free", "active", None)
    assert me["entitlements"]["monthly_credits"] == 50
    them = await billing.subscription(theirs)
    assert (them["plan"], them["status"]) == ("pro", "past_due")
    assert them["guidance"] and them["update_payment_method_url"] in them["guidance"]

    # a member may look; a viewer or an API key may not
    for role in ("member", "admin"):
        r = await billing.client.get(
            "/api/v1/billing/subscription", headers=billing.user(mine, role=role)
        )
        assert r.status_code == 200
    r = await billing.client.get(
        "/api/v1/billing/subscription", headers=billing.user(mine, role="viewer")
    )
    assert r.status_code == 403
    key = Identity(
        principal_id=str(uuid.uuid4()), kind="api_key", tenant_id=mine, scopes=("billing:read",)
    )
    r = await billing.client.get(
        "/api/v1/billing/subscription",
        headers={
            HEADER: issue(
                key, billing.settings.internal_secret.get_secret_value(), audience="billing"
            )
        },
    )
    assert r.status_code == 403
    # a brand-new tenant whose tenant.created has not arrived: Free all the same
    fresh = await billing.subscription(str(uuid.uuid4()))
    assert (fresh["plan"], fresh["subscription_id"]) == ("free", None)


async def test_guidance_for_cancelled_and_paused(billing):
    tenant = await billing.tenant()
    t = datetime.now(UTC)
    await billing.send(subscription_body("subscription_created", tenant_id=tenant, updated_at=t))
    await billing.send(
        subscription_body(
            "subscription_cancelled",
            tenant_id=tenant,
            status="cancelled",
            created_at=t,
            updated_at=t + timedelta(minutes=1),
            ends_at=t + timedelta(days=20),
        )
    )
    view = await billing.subscription(tenant)
    assert (
        "cancelled" in view["guidance"]
        and (t + timedelta(days=20)).strftime("%Y-%m-%d") in view["guidance"]
    )
    await billing.send(
        subscription_body(
            "subscription_paused",
            tenant_id=tenant,
            status="paused",
            created_at=t,
            updated_at=t + timedelta(minutes=2),
        )
    )
    assert "paused" in (await billing.subscription(tenant))["guidance"]


async def test_payments_are_for_the_owner_of_the_tenant_only(billing):
    mine, theirs = await billing.tenant(), await billing.tenant()
    t = datetime.now(UTC) - timedelta(days=31)
    await billing.send(order_body("order_created", tenant_id=mine, order_id="111", created_at=t))
    await billing.send(
        subscription_body("subscription_created", tenant_id=mine, created_at=t, updated_at=t)
    )
    await billing.send(
        invoice_body(
            "subscription_payment_success",
            tenant_id=mine,
            invoice_id="222",
            created_at=t + timedelta(days=30),
        )
    )
    await billing.send(order_body("order_created", tenant_id=theirs, order_id="333", created_at=t))

    r = await billing.client.get("/api/v1/billing/payments", headers=billing.user(mine))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [p["reference"] for p in items] == ["invoice:222", "order:111"]  # newest first
    assert items[0]["receipt_url"].startswith("https://")

    r = await billing.client.get(
        "/api/v1/billing/payments", headers=billing.user(mine, role="admin")
    )
    assert r.status_code == 403
    assert r.headers["content-type"].startswith(PROBLEM_JSON)
    r = await billing.client.get("/api/v1/billing/payments", headers=billing.user(theirs))
    assert [p["reference"] for p in r.json()["items"]] == ["order:333"]
