"""Partner webhook endpoints through the real tenants app: who may manage them, the secret
shown once, signed deliveries to a real receiver (checked with the `standardwebhooks`
package, as a partner would), retries with the same webhook-id, rotation, the delivery
log, 410 and 5 days of failures disabling an endpoint, and the SSRF guard in production."""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from pingvas_tenants.adapters.db import webhook_endpoints
from pingvas_tenants.settings import Settings
from prometheus_client import REGISTRY
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from pingvas_kit.db import now
from pingvas_kit.dev.receiver import Received, WebhookReceiver

FAST = {
    "webhook_allow_private": True,
    "webhook_retry_schedule": (0.2, 0.2, 0.2),
    "webhook_poll_interval": 0.1,
}


@pytest.fixture
async def hooks(gateway_for):
    async with gateway_for(FAST) as gw:
        yield gw


def verify(secret: str, request: Received) -> dict:
    return Webhook(secret).verify(request.body, request.headers)


async def wait_for(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.1)


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def make_endpoint(gw: Any, owner: dict, url: str, **extra) -> dict:
    r = await gw.post(
        "/api/v1/webhooks/endpoints",
        {"url": url, "event_types": ["generation.completed", "image.created"], **extra},
        as_=gw.user(owner),
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_test_event_arrives_signed_and_the_log_shows_it(hooks: Any):
    owner = await hooks.signup("owner@example.com")
    with WebhookReceiver() as receiver:
        created = await make_endpoint(hooks, owner, receiver.url, description="CI receiver")
        secret = created["secret"]
        assert secret.startswith("whsec_") and created["health"]["status"] == "new"
        listed = (await hooks.get("/api/v1/webhooks/endpoints", as_=hooks.user(owner))).json()
        assert [e["id"] for e in listed["items"]] == [created["id"]]
        assert "secret" not in listed["items"][0]  # shown once only

        r = await hooks.post(
            f"/api/v1/webhooks/endpoints/{created['id']}/test", as_=hooks.user(owner)
        )
        assert r.status_code == 202, r.text
        delivery = r.json()
        (ping,) = await receiver.wait(lambda q: q.json["type"] == "ping")
        body = verify(secret, ping)
        assert body["data"]["endpoint_id"] == created["id"]
        assert ping.headers["webhook-id"] == delivery["id"]

    async def delivered():
        d = await hooks.get(f"/api/v1/webhooks/deliveries/{delivery['id']}", as_=hooks.user(owner))
        return d.json() if d.json()["status"] == "delivered" else None

    detail = await wait_for(delivered)
    assert detail and detail["attempt_count"] == 1
    (attempt,) = detail["attempts"]
    assert attempt["status_code"] == 200 and '"received": true' in attempt["response_body"]
    log = await hooks.get(
        f"/api/v1/webhooks/endpoints/{created['id']}/deliveries", as_=hooks.user(owner)
    )
    assert [d["id"] for d in log.json()["items"]] == [delivery["id"]]
    health = (
        await hooks.get(f"/api/v1/webhooks/endpoints/{created['id']}", as_=hooks.user(owner))
    ).json()["health"]
    assert health["status"] == "healthy" and health["success_rate_24h"] == 1.0


async def test_failed_answers_are_retried_with_the_same_id_and_forgeries_fail(hooks: Any):
    owner = await hooks.signup("owner@example.com")
    retried = counted("pingvas_webhook_attempts_total", outcome="retrying")
    delivered = counted("pingvas_webhook_deliveries_total", outcome="delivered")
    with WebhookReceiver(answers=[500, 503]) as receiver:
        created = await make_endpoint(hooks, owner, receiver.url)
        await hooks.post(f"/api/v1/webhooks/endpoints/{created['id']}/test", as_=hooks.user(owner))
        tries = await receiver.wait(lambda q: True, count=3)
    assert [t.answered for t in tries] == [500, 503, 200]
    assert len({t.headers["webhook-id"] for t in tries}) == 1

    async def recorded():
        return counted("pingvas_webhook_deliveries_total", outcome="delivered") > delivered

    assert await wait_for(recorded)
    assert counted("pingvas_webhook_attempts_total", outcome="retrying") - retried == 2
    assert counted("pingvas_webhook_deliveries_total", outcome="delivered") - delivered == 1
    assert len({t.body for t in tries}) == 1  # the same message every time
    for t in tries:
        verify(created["secret"], t)
    forged = Received(
        tries[-1].path, tries[-1].headers, tries[-1].body.replace(b"ping", b"pong"), 0
    )
    with pytest.raises(WebhookVerificationError):
        verify(created["secret"], forged)
    replayed = dict(tries[-1].headers, **{"webhook-timestamp": str(int(time.time()) - 3600)})
    with pytest.raises(WebhookVerificationError):
        Webhook(created["secret"]).verify(tries[-1].body, replayed)
    other = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    with pytest.raises(WebhookVerificationError):
        verify(other, tries[-1])

    r = await hooks.get(
        f"/api/v1/webhooks/deliveries/{tries[0].headers['webhook-id']}", as_=hooks.user(owner)
    )
    assert [a["status_code"] for a in r.json()["attempts"]] == [500, 503, 200]


async def test_rotation_signs_with_both_secrets_then_only_the_new_one(hooks: Any):
    owner = await hooks.signup("owner@example.com")
    with WebhookReceiver() as receiver:
        created = await make_endpoint(hooks, owner, receiver.url)
        old = created["secret"]
        r = await hooks.post(
            f"/api/v1/webhooks/endpoints/{created['id']}/rotate-secret", as_=hooks.user(owner)
        )
        assert r.status_code == 200, r.text
        new = r.json()["secret"]
        assert new != old and r.json()["previous_secret_expires_at"]
        await hooks.post(f"/api/v1/webhooks/endpoints/{created['id']}/test", as_=hooks.user(owner))
        (during,) = await receiver.wait(lambda q: True)
        assert len(during.headers["webhook-signature"].split(" ")) == 2
        verify(old, during)
        verify(new, during)

        # the overlap ends (24 hours later)
        await hooks.execute(
            webhook_endpoints.update()
            .where(webhook_endpoints.c.id == created["id"])
            .values(previous_secret_expires_at=now() - timedelta(seconds=1))
        )
        await hooks.post(f"/api/v1/webhooks/endpoints/{created['id']}/test", as_=hooks.user(owner))
        after = (await receiver.wait(lambda q: True, count=2))[1]
    verify(new, after)
    with pytest.raises(WebhookVerificationError):
        verify(old, after)


async def test_410_disables_the_endpoint_and_redelivery_sends_the_same_message(hooks: Any):
    owner = await hooks.signup("owner@example.com")
    gone = counted("pingvas_webhook_endpoints_disabled_total", reason="gone")
    with WebhookReceiver(answers=[410]) as receiver:
        created = await make_endpoint(hooks, owner, receiver.url)
        url = f"/api/v1/webhooks/endpoints/{created['id']}"
        delivery = (await hooks.post(url + "/test", as_=hooks.user(owner))).json()
        await receiver.wait(lambda q: True)

        async def disabled():
            body = (await hooks.get(url, as_=hooks.user(owner))).json()
            return body if not body["enabled"] else None

        endpoint = await wait_for(disabled)
        assert endpoint and endpoint["disabled_reason"] == "gone"
        assert endpoint["health"]["status"] == "disabled"
        assert counted("pingvas_webhook_endpoints_disabled_total", reason="gone") - gone == 1
        # enabled again by its owner, then the message sent again by hand: same id, delivered
        r = await hooks.client.patch(url, json={"enabled": True}, headers=hooks.user(owner))
        assert r.status_code == 200 and r.json()["enabled"] and not r.json()["disabled_reason"]
        r = await hooks.post(
            f"/api/v1/webhooks/deliveries/{delivery['id']}/redeliver", as_=hooks.user(owner)
        )
        assert r.status_code == 202, r.text
        again = (await receiver.wait(lambda q: True, count=2))[1]
    assert again.headers["webhook-id"] == delivery["id"] and again.answered == 200


async def test_five_days_of_failures_disable_it_and_tell_the_owners(hooks: Any):
    owner = await hooks.signup("owner@example.com", locale="ko")
    with WebhookReceiver(default=500) as receiver:
        created = await make_endpoint(hooks, owner, receiver.url)
        await hooks.execute(
            webhook_endpoints.update()
            .where(webhook_endpoints.c.id == created["id"])
            .values(failing_since=now() - timedelta(days=5, minutes=1), consecutive_failures=30)
        )
        await hooks.post(f"/api/v1/webhooks/endpoints/{created['id']}/test", as_=hooks.user(owner))
        await receiver.wait(lambda q: True)

        async def announced():
            return await hooks.events("webhook.disabled")

        (event,) = await wait_for(announced)
    assert event["data"]["reason"] == "failing"
    assert event["data"]["owners"] == [
        {"email": "owner@example.com", "display_name": "Jiwoo Kim", "locale": "ko"}
    ]
    assert event["data"]["settings_url"].endswith("/webhooks")


async def test_only_owners_admins_and_scoped_keys_manage_webhooks(hooks: Any):
    owner = await hooks.signup("owner@example.com")
    member = await hooks.invite_and_join(owner, "member@example.com")
    tenant = hooks.claims(owner)["tid"]
    r = await hooks.get("/api/v1/webhooks/endpoints", as_=hooks.user(member))
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    r = await hooks.get("/api/v1/webhooks/endpoints", as_=hooks.key("k1", tenant, ["images:read"]))
    assert r.status_code == 403 and "webhooks:write" in r.json()["detail"]
    r = await hooks.get(
        "/api/v1/webhooks/endpoints", as_=hooks.key("k2", tenant, ["webhooks:write"])
    )
    assert r.status_code == 200

    # another team never sees or touches this team's endpoint
    created = await make_endpoint(hooks, owner, "http://127.0.0.1:9/hooks")
    stranger = await hooks.signup("stranger@example.com", team="Other Team")
    for method, path in [
        ("GET", f"/api/v1/webhooks/endpoints/{created['id']}"),
        ("DELETE", f"/api/v1/webhooks/endpoints/{created['id']}"),
        ("POST", f"/api/v1/webhooks/endpoints/{created['id']}/test"),
        ("GET", f"/api/v1/webhooks/endpoints/{created['id']}/deliveries"),
    ]:
        r = await hooks.client.request(method, path, headers=hooks.user(stranger))
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["code"] == "webhook_endpoint_not_found"
    assert (await hooks.get("/api/v1/webhooks/endpoints", as_=hooks.user(stranger))).json()[
        "items"
    ] == []


async def test_bad_input_is_refused_and_changes_nothing(hooks: Any):
    owner = await hooks.signup("owner@example.com")
    cases = [
        ({"url": "ftp://example.com/x", "event_types": ["image.created"]}, "webhook_url_invalid"),
        ({"url": "https://user:pw@example.com/x", "event_types": ["image.created"]}, None),
        ({"url": "https://example.com/x", "event_types": []}, None),
        ({"url": "https://example.com/x", "event_types": ["image.exploded"]}, None),
    ]
    for body, code in cases:
        r = await hooks.post("/api/v1/webhooks/endpoints", body, as_=hooks.user(owner))
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        if code:
            assert r.json()["code"] == code and r.json()["errors"][0]["field"] == "url"
    r = await hooks.get("/api/v1/webhooks/endpoints", as_=hooks.user(owner))
    assert r.json()["items"] == []


PRODUCTION = {
    "environment": "production",
    "internal_secret": secrets.token_urlsafe(40),
    "jwt_secret": secrets.token_urlsafe(40),
    "webhook_retry_schedule": (0.2,),
}


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hooks",
        "https://10.0.0.1/hooks",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hooks",
        "https://[::ffff:10.0.0.1]/hooks",
        "https://localhost/hooks",  # a name that resolves to loopback
    ],
)
async def test_production_refuses_private_addresses(gateway_for, url: str):
    async with gateway_for(PRODUCTION) as gw:
        owner = await gw.signup("owner@example.com")
        r = await gw.post(
            "/api/v1/webhooks/endpoints",
            {"url": url, "event_types": ["image.created"]},
            as_=gw.user(owner),
        )
        assert r.status_code == 422, r.text
        problem = r.json()
        assert r.headers["content-type"] == "application/problem+json"
        assert problem["code"] == "webhook_url_forbidden"
        assert "public addresses only" in problem["detail"]
        assert problem["errors"][0]["field"] == "url"
        r = await gw.post(
            "/api/v1/webhooks/endpoints",
            {"url": "http://example.com/hooks", "event_types": ["image.created"]},
            as_=gw.user(owner),
        )
        assert r.status_code == 422 and r.json()["code"] == "webhook_url_insecure"
        async with gw.db.sessionmaker() as session:
            assert (
                await session.scalar(sa.select(sa.func.count()).select_from(webhook_endpoints))
            ) == 0


def test_production_cannot_allow_private_addresses():
    with pytest.raises(ValueError, match="local run only"):
        Settings(**PRODUCTION, webhook_allow_private=True)


async def test_the_delivery_log_forgets_finished_deliveries_after_the_retention(hooks: Any):
    from pingvas_tenants.adapters.db import webhook_deliveries

    owner = await hooks.signup("owner@example.com")
    with WebhookReceiver() as receiver:
        created = await make_endpoint(hooks, owner, receiver.url)
        url = f"/api/v1/webhooks/endpoints/{created['id']}"
        old = (await hooks.post(url + "/test", as_=hooks.user(owner))).json()
        await receiver.wait(lambda q: True)

        async def delivered():
            d = await hooks.get(f"/api/v1/webhooks/deliveries/{old['id']}", as_=hooks.user(owner))
            return d.json()["status"] == "delivered"

        assert await wait_for(delivered)
    await hooks.execute(
        webhook_deliveries.update()
        .where(webhook_deliveries.c.id == old["id"])
        .values(created_at=now() - timedelta(days=31))
    )
    assert await hooks.service.app.state.webhook_sender.prune() == 1
    r = await hooks.get(f"/api/v1/webhooks/deliveries/{old['id']}", as_=hooks.user(owner))
    assert r.status_code == 404 and r.json()["code"] == "webhook_delivery_not_found"
