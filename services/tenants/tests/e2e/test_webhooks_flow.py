"""Partner webhooks through the whole local stack, for real (issue 16, "Must show").

`pingvas-dev up --only gateway,tenants,render` as a subprocess, with render's GPU worker on
the CPU and the tiny SD-1 model; three real HTTP receivers on 127.0.0.1 (the local run
allows loopback receivers, and says so in its log). A team registers two endpoints and asks
one generation with a per-request webhook:

- the `generation.completed` endpoint answers 500 twice: it gets the same message three
  times (one webhook-id, one body), signed so that `standardwebhooks` verifies it, and the
  payload is exactly what GET /api/v1/generations/{id} answers; exactly one was accepted;
  a tampered or replayed copy fails verification;
- the `image.created` endpoint gets each image as GET /api/v1/images/{id} shows it;
- the per-request webhook gets started, progress and completed, signed with the team's
  callback secret; the delivery log shows the three attempts.

SLOW: about a minute, most of it the engine starting."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from pingvas_render.engine.testing import ensure_tiny_model
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from pingvas_kit.dev.receiver import WebhookReceiver
from pingvas_kit.dev.stack import REPO, Stack, Team, running_stack

pytestmark = [pytest.mark.timeout(600)]

MODELS = REPO / "var" / "models"
SMALL = {"model": "tiny-sd1", "width": 64, "height": 64, "steps": 4, "cfg_scale": 7.5}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    ensure_tiny_model(MODELS)
    with running_stack(
        tmp_path_factory.mktemp("webhooks-e2e"),
        ["--only", "gateway,tenants,render", "--startup-timeout", "180"],
        {
            "PINGVAS_MODELS_DIR": str(MODELS),
            # seconds instead of minutes between attempts
            "TENANTS_WEBHOOK_RETRY_SCHEDULE": "[0.5, 0.5, 1, 1]",
            "TENANTS_WEBHOOK_POLL_INTERVAL": "0.2",
            "RENDER_CALLBACK_PROGRESS_EVERY_S": "0.2",
        },
        services=("render-worker",),
    ) as stack:
        yield stack


def wait_until(check: Any, what: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def of_type(kind: str):  # noqa: ANN201
    return lambda r: r.json["type"] == kind


def test_a_generation_reaches_the_partner_signed_once_and_retried(stack: Stack):
    team = Team(stack, "hooks")
    assert "webhooks may go to loopback and private addresses" in stack.output
    with (
        WebhookReceiver(answers=[500, 500]) as completed_hook,
        WebhookReceiver() as images_hook,
        WebhookReceiver() as callback_hook,
    ):
        secrets = {}
        for receiver, types in (
            (completed_hook, ["generation.completed"]),
            (images_hook, ["image.created"]),
        ):
            r = team.http.post(
                "/webhooks/endpoints",
                json={"url": receiver.url, "event_types": types, "description": "e2e"},
            )
            assert r.status_code == 201, r.text
            secrets[receiver.port] = (r.json()["id"], r.json()["secret"])
        callback_secret = team.http.get("/webhooks/callback-secret").json()["secret"]

        job = team.generate(
            "a lighthouse at dusk",
            **SMALL,
            webhook=callback_hook.url,
            webhook_events_filter=["started", "progress", "completed"],
        )
        assert job["webhook"] == callback_hook.url

        def finished() -> dict | None:
            body = team.http.get(f"/generations/{job['id']}").json()
            return body if body["status"] in ("completed", "failed", "cancelled") else None

        done = wait_until(finished, "the generation to finish", timeout=240)
        assert done["status"] == "completed", done

        tries = completed_hook.wait_for(of_type("generation.completed"), count=3, timeout=60)
        images = images_hook.wait_for(of_type("image.created"), timeout=60)
        calls = callback_hook.wait_for(of_type("generation.completed"), timeout=60)
        time.sleep(2)  # anything more that would come (it must not)

    # one message, retried after two 500s, accepted once
    endpoint_id, secret = secrets[completed_hook.port]
    assert [t.answered for t in tries] == [500, 500, 200]
    assert len({t.headers["webhook-id"] for t in tries}) == 1
    assert len({t.body for t in tries}) == 1
    everything = [r for r in completed_hook.received if r.json["type"] == "generation.completed"]
    assert len(everything) == 3 and sum(r.answered == 200 for r in everything) == 1
    for t in tries:
        assert Webhook(secret).verify(t.body, t.headers)["type"] == "generation.completed"
    data = tries[0].json["data"]
    assert data == team.http.get(f"/generations/{job['id']}").json()
    assert data["status"] == "completed" and data["image_ids"] == done["image_ids"]

    # a forged body or a replayed old message is refused by the receiver's check
    forged = tries[-1].body.replace(b'"completed"', b'"failed"', 1)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(forged, tries[-1].headers)
    old = dict(tries[-1].headers, **{"webhook-timestamp": str(int(time.time()) - 3600)})
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tries[-1].body, old)

    # the delivery log shows the three attempts
    delivery = team.http.get(f"/webhooks/deliveries/{tries[0].headers['webhook-id']}").json()
    assert delivery["status"] == "delivered" and delivery["endpoint_id"] == endpoint_id
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 200]

    # each image as GET shows it, signed with that endpoint's own secret
    _, image_secret = secrets[images_hook.port]
    shown = Webhook(image_secret).verify(images[0].body, images[0].headers)["data"]
    assert shown["id"] in done["image_ids"] and shown["job_id"] == job["id"]
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(images[0].body, images[0].headers)

    # the per-request webhook: its lifecycle, signed with the team's callback secret
    kinds = [r.json["type"] for r in callback_hook.received]
    assert "generation.started" in kinds and kinds.count("generation.completed") == 1
    assert "generation.progress" in kinds
    for request in callback_hook.received:
        body = Webhook(callback_secret).verify(request.body, request.headers)
        assert body["data"]["id"] == job["id"]
    assert calls[0].json["data"]["status"] == "completed"
