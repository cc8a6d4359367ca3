"""The client against the whole local stack, for real (issue 16, "Must show": the Python
client generates an image on the local stack, streams its progress and verifies a webhook).

`pingvas-dev up --only gateway,tenants,render` as a subprocess (kit's running_stack, as the
services' e2e tests start it), render's worker on the CPU with the tiny SD-1 model. A team
signs up, verifies its e-mail and logs in (kit's Team), makes an API key through the API;
from then on only the client talks to the stack, with that key: it registers a webhook
endpoint for generation.completed pointing at a real HTTP receiver on 127.0.0.1, generates
with the tiny model while streaming the progress, lists the images, and the receiver's
delivery passes verify_webhook() (a tampered or late copy does not); so does the
per-request callback (`webhook=` on the generation), with the team's callback secret.

SLOW: about a minute, most of it the engine starting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pingvas_client import APIError, AsyncPingvas, Pingvas, WebhookVerificationError, verify_webhook
from pingvas_render.engine.testing import ensure_tiny_model
from standardwebhooks.webhooks import Webhook

from pingvas_kit.dev.receiver import WebhookReceiver
from pingvas_kit.dev.stack import REPO, Stack, Team, running_stack

pytestmark = [pytest.mark.timeout(600)]

MODELS = REPO / "var" / "models"
SMALL: dict[str, Any] = {"width": 64, "height": 64, "steps": 4, "cfg_scale": 7.5}
SCOPES = ["generations:read", "generations:write", "images:read", "webhooks:write"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    ensure_tiny_model(MODELS)
    with running_stack(
        tmp_path_factory.mktemp("pyclient-e2e"),
        ["--only", "gateway,tenants,render", "--startup-timeout", "180"],
        {"PINGVAS_MODELS_DIR": str(MODELS), "TENANTS_WEBHOOK_POLL_INTERVAL": "0.2"},
        services=("render-worker",),
    ) as stack:
        yield stack


def api_key(team: Team) -> str:
    r = team.http.post("/api-keys", json={"name": "python client", "scopes": SCOPES})
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    assert key.startswith("pvk_")
    return key


def until(check: Any, what: str, timeout: float = 30) -> Any:
    """(tenant.created reaches render through the bus: the first calls may be early.)"""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except APIError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.3)


def test_generate_stream_list_and_a_verified_webhook(stack: Stack):
    team = Team(stack, "pyclient")
    key = api_key(team)
    with (
        Pingvas(api_key=key, base_url=stack.url) as client,
        WebhookReceiver() as receiver,
        WebhookReceiver() as callback,
    ):
        endpoint = client.webhooks.create(
            url=receiver.url, event_types=["generation.completed"], description="pyclient e2e"
        )
        assert endpoint.secret.startswith("whsec_") and endpoint.enabled
        assert [e.id for e in client.webhooks.list()] == [endpoint.id]

        stream = until(
            lambda: client.generate(
                "a lighthouse at dusk",
                "tiny-sd1",
                stream=True,
                webhook=callback.url,
                webhook_events_filter=["completed"],
                **SMALL,
            ),
            "the first generation",
        )
        job = stream.job
        assert job.status in ("queued", "running")
        events = list(stream)
        kinds = [e.event for e in events]
        assert kinds[-1] == "completed", kinds
        progress = [e.data["progress"] for e in events if e.event == "progress"]
        assert progress and progress == sorted(progress) and all(0 <= p <= 1 for p in progress)

        done = client.generations.get(job.id)
        assert done.status == "completed" and len(done.image_ids) == 1
        images = list(client.images.list(limit=1))
        assert [i.id for i in images] == done.image_ids
        assert images[0].job_id == job.id and (images[0].width, images[0].height) == (64, 64)
        assert [g.id for g in client.generations.list()] == [job.id]

        # the stream again from the first event on: the server replays what came after it
        first = events[0].id.split(".")[0]
        replay = list(client.generations.events(job.id, last_event_id=first))
        assert replay[-1].event == "completed" and all(e.id != first for e in replay)

        # the webhook Pingvas sent, verified as a partner would
        [got] = receiver.wait_for(lambda r: r.json["type"] == "generation.completed", timeout=60)
        body = verify_webhook(got.body, got.headers, endpoint.secret)
        assert body["data"]["id"] == job.id and body["data"]["status"] == "completed"
        assert body["data"] == client.request("GET", f"/generations/{job.id}").json()
        assert Webhook(endpoint.secret).verify(got.body, got.headers) == body
        with pytest.raises(WebhookVerificationError):
            verify_webhook(
                got.body.replace(b"completed", b"cancelled"), got.headers, endpoint.secret
            )
        with pytest.raises(WebhookVerificationError):
            verify_webhook(got.body, got.headers, endpoint.secret, now=time.time() + 600)

        # the per-request callback, signed with the team's callback secret
        callback_secret = client.webhooks.callback_secret()
        [call] = callback.wait_for(lambda r: r.json["type"] == "generation.completed", timeout=60)
        assert verify_webhook(call.body, call.headers, callback_secret)["data"]["id"] == job.id
        with pytest.raises(WebhookVerificationError):
            verify_webhook(call.body, call.headers, endpoint.secret)
        assert {r.json["type"] for r in callback.received} == {"generation.completed"}

        log = list(client.webhooks.deliveries(endpoint.id))
        assert [d.id for d in log if d.event_type == "generation.completed"] == [
            got.headers["webhook-id"]
        ]

    async def the_async_client() -> None:
        async with AsyncPingvas(api_key=key, base_url=stack.url) as client:
            assert (await client.generations.get(job.id)).status == "completed"
            assert [i.id async for i in client.images.list()] == done.image_ids
            again = [e.event async for e in client.generations.events(job.id)]
            assert again[-1] == "completed"

    asyncio.run(the_async_client())


def test_errors_are_problem_json_with_a_stable_code(stack: Stack):
    with Pingvas(api_key="pvk_AAAAAAAA_" + "a" * 32, base_url=stack.url, max_retries=0) as c:
        with pytest.raises(APIError) as caught:
            c.generations.get("no-such-job")
    assert caught.value.status == 401 and caught.value.code
    team = Team(stack, "pyclient-errors")
    with Pingvas(api_key=api_key(team), base_url=stack.url) as client:
        with pytest.raises(APIError) as missing:
            until(lambda: client.generations.get("job_missing"), "render to know the team", 5)
    assert missing.value.status == 404 and missing.value.code and missing.value.title


def wait_for_log(get: Any, status: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while (found := get()).status != status:
        assert time.monotonic() < deadline, f"the delivery stayed {found.status}"
        time.sleep(0.2)
    return found


def test_webhook_endpoint_calls_ping_rotation_update_and_delete(stack: Stack):
    team = Team(stack, "pyclient-hooks")
    with (
        Pingvas(api_key=api_key(team), base_url=stack.url) as client,
        WebhookReceiver() as receiver,
    ):
        assert "generation.completed" in {t.type for t in client.webhooks.event_types()}
        endpoint = client.webhooks.create(url=receiver.url, event_types=["image.created"])
        ping = client.webhooks.test(endpoint.id)
        assert ping.event_type == "ping"
        [got] = receiver.wait_for(lambda r: r.headers["webhook-id"] == ping.id, timeout=30)
        assert verify_webhook(got.body, got.headers, endpoint.secret)["type"] == "ping"

        rotated = client.webhooks.rotate_secret(endpoint.id)
        assert rotated.secret != endpoint.secret and rotated.previous_secret_expires_at
        second = client.webhooks.test(endpoint.id)
        [got] = receiver.wait_for(lambda r: r.headers["webhook-id"] == second.id, timeout=30)
        assert len(got.headers["webhook-signature"].split(" ")) == 2
        for secret in (endpoint.secret, rotated.secret):  # both, during the overlap
            assert verify_webhook(got.body, got.headers, secret)["type"] == "ping"

        # (the log records the attempt once the answer is in: it may lag the receiver a little)
        detail = wait_for_log(lambda: client.webhooks.delivery(second.id), "delivered")
        assert detail.id == second.id and detail.attempts[-1].status_code == 200
        again = client.webhooks.redeliver(second.id)
        assert again.id == second.id
        receiver.wait_for(lambda r: r.headers["webhook-id"] == second.id, count=2, timeout=30)

        changed = client.webhooks.update(endpoint.id, enabled=False, description="paused")
        assert (changed.enabled, changed.description) == (False, "paused")
        client.webhooks.delete(endpoint.id)
        with pytest.raises(APIError) as caught:
            client.webhooks.get(endpoint.id)
        assert caught.value.status == 404 and caught.value.code == "webhook_endpoint_not_found"
        assert client.webhooks.list() == []
