"""The Lemon Squeezy client against the stand-in server over real HTTP; the webhook
signature; the sample webhooks' documented shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import structlog
from pingvas_billing.adapters.lemonsqueezy import (
    EVENTS,
    JSON_API,
    LemonSqueezy,
    LemonSqueezyError,
    LemonSqueezyNotFound,
    checkout_body,
    sign,
    verify,
)
from pingvas_billing.dev.lemonsqueezy import serve_standin
from pingvas_billing.dev.webhooks import encode, sample_webhook
from pingvas_billing.settings import Settings

from pingvas_kit.ports import free_port

KEY = "ls-test-key-0123456789abcdef"
TENANT = "0b8f8d0e-6c55-4d1e-9d3f-2c1a5b7e9f00"


@pytest.fixture(scope="module")
def standin():
    with serve_standin(api_key=KEY, store_id="4242", variants={"412090", "412091"}) as ls:
        yield ls


@pytest.fixture(autouse=True)
def _fresh(standin):
    standin.requests.clear()
    standin.subscriptions.clear()
    standin.fail_with = None


def client(url: str, key: str = KEY, **kw) -> LemonSqueezy:
    return LemonSqueezy(url, key, store_id=kw.pop("store_id", "4242"), **kw)


async def test_checkout_sends_the_documented_document_and_returns_the_url(standin) -> None:
    async with client(standin.url, test_mode=True) as ls:
        url = await ls.create_checkout(
            variant_id="412090",
            tenant_id=TENANT,
            email="owner@example.com",
            redirect_url="http://127.0.0.1:8080/billing?checkout=done",
        )
    assert url.startswith(f"{standin.url}/checkout/custom/")
    [sent] = standin.requests
    assert sent.method == "POST" and sent.path == "/v1/checkouts"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["content-type"] == JSON_API
    assert sent.headers["accept"] == JSON_API
    data = sent.json["data"]
    assert data["type"] == "checkouts"
    assert data["attributes"]["checkout_data"] == {
        "email": "owner@example.com",
        "custom": {"tenant_id": TENANT},
    }
    assert data["attributes"]["product_options"] == {
        "redirect_url": "http://127.0.0.1:8080/billing?checkout=done"
    }
    assert data["attributes"]["test_mode"] is True
    assert data["relationships"] == {
        "store": {"data": {"type": "stores", "id": "4242"}},
        "variant": {"data": {"type": "variants", "id": "412090"}},
    }


async def test_checkout_without_email_or_redirect_sends_neither(standin) -> None:
    async with client(standin.url) as ls:
        await ls.create_checkout(variant_id=412091, tenant_id=TENANT)
    attributes = standin.checkouts()[0]["data"]["attributes"]
    assert attributes == {"checkout_data": {"custom": {"tenant_id": TENANT}}}


async def test_errors_are_clear_and_never_hold_the_api_key(standin) -> None:
    wrong = "ls-wrong-key-fedcba9876543210"
    with structlog.testing.capture_logs() as logs:
        async with client(standin.url, key=wrong) as ls:
            with pytest.raises(LemonSqueezyError) as refused:
                await ls.create_checkout(variant_id="412090", tenant_id=TENANT)
            assert wrong not in repr(ls)
    assert refused.value.status == 401
    assert "401" in str(refused.value) and "Unauthenticated" in str(refused.value)
    assert wrong not in str(refused.value) and wrong not in repr(refused.value)
    assert wrong not in json.dumps(logs, default=str)

    async with client(standin.url) as ls:
        with pytest.raises(LemonSqueezyError) as unknown_variant:
            await ls.create_checkout(variant_id="999", tenant_id=TENANT)
        assert unknown_variant.value.status == 404
        standin.fail_with = 500
        with pytest.raises(LemonSqueezyError) as broken:
            await ls.create_checkout(variant_id="412090", tenant_id=TENANT)
        assert broken.value.status == 500
        assert KEY not in str(broken.value)

    # nothing listening: no status, and still no key
    async with client(f"http://127.0.0.1:{free_port()}", timeout_s=2) as ls:
        with pytest.raises(LemonSqueezyError) as unreachable:
            await ls.get_subscription("1")
    assert unreachable.value.status is None
    assert KEY not in str(unreachable.value)
    assert unreachable.value.__cause__ is None and unreachable.value.__suppress_context__


async def test_without_a_store_id_no_call_is_made(standin) -> None:
    async with client(standin.url, store_id=None) as ls:
        with pytest.raises(LemonSqueezyError, match="STORE_ID"):
            await ls.create_checkout(variant_id="412090", tenant_id=TENANT)
    assert standin.requests == []


async def test_subscription_and_its_customer_portal(standin) -> None:
    added = standin.add_subscription("777", variant_id="412090", tenant_id=TENANT)
    async with client(standin.url) as ls:
        data = await ls.get_subscription("777")
        assert data == added
        assert await ls.customer_portal_url(777) == added["attributes"]["urls"]["customer_portal"]
        with pytest.raises(LemonSqueezyNotFound):
            await ls.get_subscription("778")
        with pytest.raises(LemonSqueezyNotFound):
            await ls.get_subscription("../checkouts")
    assert [r.path for r in standin.requests] == [
        "/v1/subscriptions/777",
        "/v1/subscriptions/777",
        "/v1/subscriptions/778",
    ]
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in standin.requests)


def test_from_settings_needs_an_api_key() -> None:
    assert LemonSqueezy.from_settings(Settings()) is None
    configured = LemonSqueezy.from_settings(
        Settings(lemonsqueezy_api_key=KEY, lemonsqueezy_store_id="4242")
    )
    assert configured is not None
    assert configured.store_id == "4242" and configured.test_mode is True
    assert KEY not in repr(configured)


# ---------------------------------------------------------------- the stand-in itself


async def test_standin_refuses_what_lemon_squeezy_refuses(standin) -> None:
    import httpx

    good = checkout_body(store_id="4242", variant_id="412090", tenant_id=TENANT)
    auth = {"authorization": f"Bearer {KEY}", "content-type": JSON_API}
    async with httpx.AsyncClient(base_url=standin.url) as http:
        plain = await http.post(
            "/v1/checkouts", json=good, headers={"authorization": f"Bearer {KEY}"}
        )
        assert plain.status_code == 415
        no_key = await http.post(
            "/v1/checkouts", content=json.dumps(good), headers={"content-type": JSON_API}
        )
        assert no_key.status_code == 401
        assert no_key.json()["errors"][0]["status"] == "401"

        bad_type = {"data": {**good["data"], "type": "orders"}}
        answer = await http.post("/v1/checkouts", content=json.dumps(bad_type), headers=auth)
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["source"] == {"pointer": "/data/type"}

        no_variant = json.loads(json.dumps(good))
        del no_variant["data"]["relationships"]["variant"]
        answer = await http.post("/v1/checkouts", content=json.dumps(no_variant), headers=auth)
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["source"]["pointer"] == "/data/relationships/variant"

        bad_redirect = checkout_body(
            store_id="4242", variant_id="412090", tenant_id=TENANT, redirect_url="nowhere"
        )
        answer = await http.post("/v1/checkouts", content=json.dumps(bad_redirect), headers=auth)
        assert answer.status_code == 422

        created = await http.post("/v1/checkouts", content=json.dumps(good), headers=auth)
        assert created.status_code == 201
        assert created.headers["content-type"].startswith(JSON_API)
        body = created.json()["data"]
        assert body["type"] == "checkouts"
        assert body["attributes"]["store_id"] == 4242
        assert body["attributes"]["variant_id"] == 412090
        assert body["attributes"]["checkout_data"]["custom"] == {"tenant_id": TENANT}


# ---------------------------------------------------------------- signatures


def test_signature_is_hex_hmac_sha256_of_the_raw_body() -> None:
    body = b"The quick brown fox jumps over the lazy dog"
    expected = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    assert sign(body, "key") == expected
    assert verify(body, expected, "key")
    assert verify(body, expected.upper(), "key")
    assert not verify(body + b" ", expected, "key")
    assert not verify(body, expected, "other")
    assert not verify(body, None, "key")
    assert not verify(body, "", "key")


# ---------------------------------------------------------------- sample webhooks


def test_subscription_webhook_has_the_documented_shape() -> None:
    updated = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
    payload = sample_webhook(
        "subscription_created",
        tenant_id=TENANT,
        plan_variant_id="412090",
        subscription_id="555",
        status="on_trial",
        test_mode=True,
        updated_at=updated,
        trial_ends_at=datetime(2025, 3, 15, tzinfo=UTC),
    )
    meta = payload["meta"]
    assert meta["event_name"] == "subscription_created"
    assert meta["custom_data"] == {"tenant_id": TENANT}
    assert meta["test_mode"] is True and meta["webhook_id"]
    data = payload["data"]
    assert data["type"] == "subscriptions" and data["id"] == "555"
    attributes = data["attributes"]
    for key in (
        "store_id", "customer_id", "order_id", "product_id", "variant_id", "product_name",
        "variant_name", "user_name", "user_email", "status", "cancelled", "trial_ends_at",
        "renews_at", "ends_at", "urls", "created_at", "updated_at", "test_mode",
    ):  # fmt: skip
        assert key in attributes, key
    assert attributes["variant_id"] == 412090
    assert attributes["status"] == "on_trial"
    assert attributes["updated_at"] == "2025-03-01T12:30:00.000000Z"
    assert attributes["renews_at"] == "2025-03-31T12:30:00.000000Z"
    assert attributes["trial_ends_at"] == "2025-03-15T00:00:00.000000Z"
    assert attributes["ends_at"] is None
    assert attributes["urls"]["customer_portal"].startswith("https://")
    assert attributes["urls"]["update_payment_method"].startswith("https://")
    assert attributes["test_mode"] is True


def test_custom_data_values_are_strings_and_optional() -> None:
    payload = sample_webhook(
        "subscription_updated", tenant_id=12345, plan_variant_id=1, custom_data={"seats": 3}
    )
    assert payload["meta"]["custom_data"] == {"tenant_id": "12345", "seats": "3"}
    assert (
        "custom_data"
        not in sample_webhook("subscription_updated", tenant_id=None, plan_variant_id=1)["meta"]
    )


def test_invoice_and_order_webhooks() -> None:
    paid = sample_webhook(
        "subscription_payment_success",
        tenant_id=TENANT,
        plan_variant_id="412090",
        subscription_id="555",
        invoice_id="9001",
        test_mode=False,
        total=2900,
    )
    assert paid["meta"]["test_mode"] is False
    assert paid["data"]["type"] == "subscription-invoices" and paid["data"]["id"] == "9001"
    invoice = paid["data"]["attributes"]
    assert invoice["subscription_id"] == 555
    assert invoice["status"] == "paid" and invoice["total"] == 2900
    assert invoice["billing_reason"] == "renewal"
    assert invoice["currency"] == "USD" and invoice["test_mode"] is False
    failed = sample_webhook(
        "subscription_payment_failed", tenant_id=TENANT, plan_variant_id=1, subscription_id=5
    )
    assert failed["data"]["attributes"]["status"] != "paid"

    order = sample_webhook(
        "order_created", tenant_id=TENANT, plan_variant_id="412091", order_id="31337", total=29000
    )
    assert order["data"]["type"] == "orders" and order["data"]["id"] == "31337"
    attributes = order["data"]["attributes"]
    assert attributes["status"] == "paid" and attributes["total"] == 29000
    assert attributes["first_order_item"]["variant_id"] == 412091
    assert attributes["urls"]["receipt"].startswith("https://")
    refunded = sample_webhook("order_refunded", tenant_id=TENANT, plan_variant_id=1)
    assert refunded["data"]["attributes"]["status"] == "refunded"
    assert refunded["data"]["attributes"]["refunded"] is True


@pytest.mark.parametrize("event", EVENTS)
def test_every_event_encodes_and_names_itself(event: str) -> None:
    payload = sample_webhook(event, tenant_id=TENANT, plan_variant_id="412090")
    decoded = json.loads(encode(payload))
    assert decoded["meta"]["event_name"] == event
    assert decoded["data"]["attributes"]["updated_at"].endswith("Z")


def test_unknown_event_or_status_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown Lemon Squeezy event"):
        sample_webhook("subscription_teleported", tenant_id=TENANT, plan_variant_id=1)
    with pytest.raises(ValueError, match="unknown subscription status"):
        sample_webhook("subscription_updated", tenant_id=TENANT, plan_variant_id=1, status="ok")
