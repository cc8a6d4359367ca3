"""POST /api/v1/billing/checkout and GET /api/v1/billing/portal through the billing app,
with Lemon Squeezy played by the stand-in server over real HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pingvas_billing.adapters.db import subscriptions
from pingvas_billing.adapters.lemonsqueezy import binding_is_for
from pingvas_billing.app import create_app
from pingvas_billing.dev.lemonsqueezy import serve_standin
from pingvas_billing.plans import load_plans
from pingvas_billing.settings import Settings

from pingvas_kit.identity import Identity, IdentityHeaders
from pingvas_kit.problems import PROBLEM_JSON

KEY = "ls-checkout-key-0123456789abcdef"
STORE = "4242"
PLANS = load_plans()
PRO_MONTH = PLANS["pro"].variants["month"]
PUBLIC = "https://pingvas.example"


@pytest.fixture(scope="module")
def standin():
    with serve_standin(
        api_key=KEY, store_id=STORE, variants=set(PLANS["pro"].variants.values())
    ) as ls:
        yield ls


@pytest.fixture(autouse=True)
def _fresh(standin):
    standin.requests.clear()
    standin.subscriptions.clear()
    standin.fail_with = None


def configured(standin, **more):
    return {
        "lemonsqueezy_api_url": standin.url,
        "lemonsqueezy_api_key": KEY,
        "lemonsqueezy_store_id": STORE,
        "public_url": PUBLIC,
        **more,
    }


def as_(service, *, role: str = "owner", tenant: str | None = None, kind: str = "user") -> dict:
    identity = Identity(
        principal_id=str(uuid.uuid4()),
        kind=kind,  # type: ignore[arg-type]
        tenant_id=tenant or str(uuid.uuid4()),
        roles=(role,) if kind == "user" else (),
        scopes=("billing:read",) if kind == "api_key" else (),
        email_verified=True,
    )
    secret = service.settings.internal_secret.get_secret_value()
    return IdentityHeaders(identity, secret, audience="billing")


async def add_subscription(
    service,
    tenant: str,
    *,
    status: str = "active",
    ls_id: str | None = "777",
    portal: str | None = None,
) -> None:
    now = datetime.now(UTC)
    async with service.runtime.db.transaction() as session:
        await session.execute(
            subscriptions.insert().values(
                id=str(uuid.uuid4()),
                tenant_id=tenant,
                plan="pro" if ls_id else "free",
                status=status,
                interval="month" if ls_id else None,
                ls_subscription_id=ls_id,
                ls_variant_id=PRO_MONTH if ls_id else None,
                current_period_start=now,
                current_period_end=now + timedelta(days=30),
                customer_portal_url=portal,
                created_at=now,
                updated_at=now,
            )
        )


def assert_problem(answer, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM_JSON)
    body = answer.json()
    assert body["status"] == status
    return body


# ---------------------------------------------------------------- checkout


async def test_owner_gets_a_checkout_for_the_plan_with_tenant_email_and_return_url(
    run_service, standin
) -> None:
    tenant = str(uuid.uuid4())
    async with run_service(create_app, Settings, **configured(standin)) as service:
        answer = await service.client.post(
            "/api/v1/billing/checkout",
            json={"plan": "pro", "interval": "month", "email": "owner@example.com"},
            headers=as_(service, tenant=tenant),
        )
    assert answer.status_code == 200, answer.text
    url = answer.json()["url"]
    assert url.startswith(f"{standin.url}/checkout/custom/")
    [sent] = standin.requests
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    data = sent.json["data"]
    assert data["type"] == "checkouts"
    checkout_data = data["attributes"]["checkout_data"]
    binding = checkout_data["custom"].pop("checkout")
    assert checkout_data == {"email": "owner@example.com", "custom": {"tenant_id": tenant}}
    # the purchase is bound to this tenant, by a binding only billing can make
    secret = service.settings.lemonsqueezy_signing_secret
    assert binding_is_for(secret, tenant, binding)
    assert not binding_is_for(secret, str(uuid.uuid4()), binding)
    assert (
        data["attributes"]["product_options"]["redirect_url"] == f"{PUBLIC}/billing?checkout=done"
    )
    assert data["relationships"]["store"]["data"] == {"type": "stores", "id": STORE}
    assert data["relationships"]["variant"]["data"] == {"type": "variants", "id": PRO_MONTH}


async def test_yearly_checkout_without_email(run_service, standin) -> None:
    async with run_service(create_app, Settings, **configured(standin)) as service:
        answer = await service.client.post(
            "/api/v1/billing/checkout",
            json={"plan": "pro", "interval": "year"},
            headers=as_(service),
        )
    assert answer.status_code == 200, answer.text
    data = standin.checkouts()[0]["data"]
    assert "email" not in data["attributes"]["checkout_data"]
    assert data["relationships"]["variant"]["data"]["id"] == PLANS["pro"].variants["year"]


async def test_only_the_owner_may_check_out(run_service, standin) -> None:
    async with run_service(create_app, Settings, **configured(standin)) as service:
        body = {"plan": "pro", "interval": "month"}
        url = "/api/v1/billing/checkout"
        assert_problem(await service.client.post(url, json=body), 401)
        for role in ("member", "admin"):
            headers = as_(service, role=role)
            assert_problem(await service.client.post(url, json=body, headers=headers), 403)
        key = as_(service, kind="api_key")
        assert_problem(await service.client.post(url, json=body, headers=key), 403)
        assert_problem(await service.client.get("/api/v1/billing/portal", headers=key), 403)
    assert standin.requests == []


async def test_free_unknown_plan_or_interval_is_422(run_service, standin) -> None:
    async with run_service(create_app, Settings, **configured(standin)) as service:
        headers = as_(service)
        url = "/api/v1/billing/checkout"
        for body in (
            {"plan": "free", "interval": "month"},
            {"plan": "platinum", "interval": "month"},
            {"plan": "pro", "interval": "week"},
            {"interval": "month"},
            {"plan": "pro", "email": "not an address"},
        ):
            assert_problem(await service.client.post(url, json=body, headers=headers), 422)
    assert standin.requests == []


async def test_without_an_api_key_checkout_is_503_and_points_at_the_cli(run_service) -> None:
    async with run_service(create_app, Settings, public_url=PUBLIC) as service:
        answer = await service.client.post(
            "/api/v1/billing/checkout", json={"plan": "pro"}, headers=as_(service)
        )
    problem = assert_problem(answer, 503)
    assert "payments are not configured here" in problem["detail"]
    assert "pingvas-billing simulate-webhook" in problem["detail"]


async def test_lemon_squeezy_failure_is_502_without_the_key(run_service, standin) -> None:
    wrong = "ls-wrong-key-fedcba9876543210"
    overrides = configured(standin, lemonsqueezy_api_key=wrong)
    async with run_service(create_app, Settings, **overrides) as service:
        answer = await service.client.post(
            "/api/v1/billing/checkout", json={"plan": "pro"}, headers=as_(service)
        )
    assert_problem(answer, 502)
    assert wrong not in answer.text and KEY not in answer.text


async def test_a_tenant_with_a_live_subscription_is_sent_to_the_portal(
    run_service, standin
) -> None:
    tenant = str(uuid.uuid4())
    async with run_service(create_app, Settings, **configured(standin)) as service:
        await add_subscription(service, tenant, status="active")
        answer = await service.client.post(
            "/api/v1/billing/checkout", json={"plan": "team"}, headers=as_(service, tenant=tenant)
        )
    assert assert_problem(answer, 409)["type"].endswith("already-subscribed")
    assert standin.requests == []


async def test_an_expired_subscription_may_check_out_again(run_service, standin) -> None:
    tenant = str(uuid.uuid4())
    async with run_service(create_app, Settings, **configured(standin)) as service:
        await add_subscription(service, tenant, status="expired")
        answer = await service.client.post(
            "/api/v1/billing/checkout", json={"plan": "pro"}, headers=as_(service, tenant=tenant)
        )
    assert answer.status_code == 200, answer.text


# ---------------------------------------------------------------- portal


async def test_portal_is_404_without_a_paid_subscription(run_service, standin) -> None:
    async with run_service(create_app, Settings, **configured(standin)) as service:
        headers = as_(service)
        assert_problem(await service.client.get("/api/v1/billing/portal", headers=headers), 404)
        free = str(uuid.uuid4())
        await add_subscription(service, free, ls_id=None)
        answer = await service.client.get(
            "/api/v1/billing/portal", headers=as_(service, tenant=free)
        )
        assert_problem(answer, 404)
        member = as_(service, role="admin", tenant=free)
        assert_problem(await service.client.get("/api/v1/billing/portal", headers=member), 403)


async def test_portal_asks_lemon_squeezy_for_a_fresh_link(run_service, standin) -> None:
    tenant = str(uuid.uuid4())
    fresh = standin.add_subscription("777", variant_id=PRO_MONTH, tenant_id=tenant)
    async with run_service(create_app, Settings, **configured(standin)) as service:
        await add_subscription(service, tenant, ls_id="777", portal="https://old.example/portal")
        answer = await service.client.get(
            "/api/v1/billing/portal", headers=as_(service, tenant=tenant)
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"url": fresh["attributes"]["urls"]["customer_portal"]}
        assert standin.requests[-1].path == "/v1/subscriptions/777"

        # LS down: the link from the last webhook
        standin.fail_with = 500
        answer = await service.client.get(
            "/api/v1/billing/portal", headers=as_(service, tenant=tenant)
        )
        assert answer.json() == {"url": "https://old.example/portal"}


async def test_portal_without_an_api_key_uses_the_stored_link(run_service) -> None:
    tenant = str(uuid.uuid4())
    async with run_service(create_app, Settings) as service:
        await add_subscription(service, tenant, ls_id="778", portal="https://ls.example/billing")
        answer = await service.client.get(
            "/api/v1/billing/portal", headers=as_(service, tenant=tenant)
        )
        assert answer.json() == {"url": "https://ls.example/billing"}
        bare = str(uuid.uuid4())
        await add_subscription(service, bare, ls_id="779")
        answer = await service.client.get(
            "/api/v1/billing/portal", headers=as_(service, tenant=bare)
        )
        assert_problem(answer, 503)
