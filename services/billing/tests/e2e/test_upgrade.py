"""An upgrade as a new user tries it locally (issue 5, "Must show"), on the real stack:
`pingvas-dev up --only gateway,tenants,billing,render` as a subprocess.

Sign up and log in through the gateway; on Free, a job of 4 images is refused (the plan
allows 2). `pingvas-billing simulate-webhook subscription_created --plan pro` posts a
correctly signed Lemon Squeezy webhook to the gateway, as the store would after a
checkout; billing records it, publishes the subscription and the Pro grant, and render
follows: the billing API shows Pro and its credits, and the same 4-image job is accepted.
A forged signature changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from pingvas_contracts.plans import PLANS
from pingvas_kit.dev.stack import Stack, running_stack

pytestmark = [pytest.mark.timeout(300)]

VERIFY = "pingvas.tenants.user.verification_requested.v1"
PASSWORD = "correct horse battery"
CLI = Path(sys.executable).with_name("pingvas-billing")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("billing-e2e"),
        ["--only", "gateway,tenants,billing,render", "--no-workers"],
        timeout=180,
    ) as stack:
        yield stack


def _until(call: Any, ok: Any, what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = call()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {value}")
        time.sleep(0.3)


def _owner(stack: Stack) -> tuple[httpx.Client, str]:
    email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    base = stack.url + "/api/v1"
    body = {"email": email, "password": PASSWORD, "name": "Olive", "team_name": "Olive's"}
    assert httpx.post(f"{base}/auth/signup", json=body).status_code == 202
    token = parse_qs(urlsplit(stack.outbox_link(VERIFY, "verification_url", email)).query)
    httpx.post(f"{base}/auth/verify-email", json={"token": token["token"][0]}).raise_for_status()
    login = httpx.post(f"{base}/auth/login", json={"email": email, "password": PASSWORD})
    login.raise_for_status()
    client = httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    return client, client.get("/me").json()["tenant"]["id"]


def _generate(client: httpx.Client, images: int) -> httpx.Response:
    body = {"prompt": "a lighthouse", "model": "tiny-sd1", "num_images": images, "seed": 1}
    return client.post("/generations", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})


def _simulate(stack: Stack, tenant_id: str, *extra: str) -> subprocess.CompletedProcess:
    secret = json.loads((stack.var / "secrets.json").read_text())[
        "PINGVAS_LEMONSQUEEZY_SIGNING_SECRET"
    ]
    return subprocess.run(
        [str(CLI), "simulate-webhook", "subscription_created", "--tenant", tenant_id,
         "--plan", "pro", "--url", f"{stack.url}/webhooks/lemonsqueezy", f"--secret={secret}",
         *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip


def test_upgrade_through_a_signed_webhook_raises_the_limits(stack: Stack) -> None:
    client, tenant_id = _owner(stack)
    free = _until(
        lambda: client.get("/billing/subscription"),
        lambda r: r.status_code == 200,
        "the Free subscription",
    ).json()
    assert free["plan"] == "free"
    _until(lambda: client.get("/entitlements"), lambda r: r.status_code == 200, "entitlements")
    refused = _generate(client, 4)
    assert refused.status_code == 422, refused.text  # Free allows 2 images per job

    forged = _simulate(stack, tenant_id, "--secret", "not-the-store-secret")
    assert forged.returncode != 0 and "401" in (forged.stdout + forged.stderr)
    assert client.get("/billing/subscription").json()["plan"] == "free"

    done = _simulate(stack, tenant_id)
    assert done.returncode == 0, done.stdout + done.stderr
    pro = _until(
        lambda: client.get("/billing/subscription").json(),
        lambda s: s["plan"] == "pro" and s["status"] == "active",
        "the Pro subscription",
    )
    assert pro["interval"] == "month"
    credits = _until(
        lambda: client.get("/billing/credits").json(),
        lambda c: c["plan"] == "pro",
        "the Pro grant",
    )
    assert credits["balance"] >= PLANS["pro"].monthly_credits
    limits = _until(
        lambda: client.get("/entitlements").json(),
        lambda e: e["plan"] == "pro",
        "render's entitlements",
    )
    assert limits["max_images_per_job"] == PLANS["pro"].max_images_per_job
    accepted = _generate(client, 4)
    assert accepted.status_code == 202, accepted.text
