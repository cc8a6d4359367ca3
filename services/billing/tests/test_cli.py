"""`pingvas-billing simulate-webhook` posts a sample webhook, signed so that verification
accepts it, over real HTTP; its signing secret is the local run's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from pingvas_billing.adapters.lemonsqueezy import EVENTS, binding_is_for, verify
from pingvas_billing.cli import main, signing_secret, subscription_id_for
from pingvas_billing.dev.webhooks import encode, sample_webhook
from pingvas_billing.domain import payloads
from pingvas_billing.plans import load_plans
from pingvas_billing.settings import DEV_SIGNING_SECRET
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pingvas_kit.dev.run import local_secrets
from pingvas_kit.ports import free_port

PLANS = load_plans()
TENANT = str(uuid.uuid4())
SECRET = "cli-test-signing-secret-0123456789"
ENV_KEYS = ("BILLING_LEMONSQUEEZY_SIGNING_SECRET", "PINGVAS_LEMONSQUEEZY_SIGNING_SECRET")


@pytest.fixture(autouse=True)
def _no_secret_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)


class Receiver:
    """A webhook endpoint that checks X-Signature as billing does."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.url = ""
        self.received: list[tuple[dict[str, str], bytes, bool]] = []

    def app(self) -> Starlette:
        async def webhook(request: Request) -> JSONResponse:
            body = await request.body()
            ok = verify(body, request.headers.get("x-signature"), self.secret)
            self.received.append((dict(request.headers), body, ok))
            if not ok:
                return JSONResponse({"title": "Unauthorized"}, status_code=401)
            return JSONResponse({"status": "recorded"})

        return Starlette(routes=[Route("/webhooks/lemonsqueezy", webhook, methods=["POST"])])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    recv = Receiver(SECRET)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(recv.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    recv.url = f"http://127.0.0.1:{port}/webhooks/lemonsqueezy"
    try:
        yield recv
    finally:
        server.should_exit = True
        thread.join(5)


def test_posts_a_signed_subscription_webhook(receiver: Receiver, capsys) -> None:
    code = main(
        ["simulate-webhook", "subscription_created", "--tenant", TENANT, "--plan", "pro",
         "--interval", "year", "--url", receiver.url, "--secret", SECRET]
    )  # fmt: skip
    assert code == 0, capsys.readouterr()
    [(headers, body, ok)] = receiver.received
    assert ok
    assert headers["x-event-name"] == "subscription_created"
    assert headers["content-type"] == "application/json"
    payload = json.loads(body)
    assert payload["meta"]["event_name"] == "subscription_created"
    custom = payload["meta"]["custom_data"]
    assert custom["tenant_id"] == TENANT and set(custom) == {"tenant_id", "checkout"}
    # bound to the tenant as billing's checkout would (with the same signing secret)
    assert binding_is_for(SECRET, TENANT, custom["checkout"])
    assert payload["meta"]["test_mode"] is True
    assert payload["data"]["id"] == subscription_id_for(TENANT)
    assert str(payload["data"]["attributes"]["variant_id"]) == PLANS["pro"].variants["year"]
    assert payload["data"]["attributes"]["status"] == "active"
    assert "-> 200" in capsys.readouterr().out


def test_a_wrong_secret_is_refused_and_said_so(receiver: Receiver, capsys) -> None:
    code = main(
        ["simulate-webhook", "subscription_updated", "--tenant", TENANT, "--url", receiver.url,
         "--secret", "not-the-secret"]
    )  # fmt: skip
    assert code == 1
    assert receiver.received[-1][2] is False
    assert "signature was refused" in capsys.readouterr().err


def test_events_imply_their_status_and_every_event_parses(capsys) -> None:
    for event in EVENTS:
        assert main(["simulate-webhook", event, "--tenant", TENANT, "--dry-run"]) == 0
        printed = json.loads(capsys.readouterr().out)
        payload = printed["body"]
        assert printed["headers"]["x-event-name"] == event
        assert payload["meta"]["custom_data"]["tenant_id"] == TENANT
        meta = payloads.read_meta(payload)
        assert (meta.event_name, meta.tenant_id) == (event, TENANT)
        kind = payload["data"]["type"]
        if kind == "subscriptions":
            sub = payloads.read_subscription(payload)
            assert sub.variant_id == PLANS["pro"].variants["month"]
            expected = {
                "subscription_cancelled": "cancelled",
                "subscription_expired": "expired",
                "subscription_paused": "paused",
            }.get(event, "active")
            assert sub.status == expected
            if expected == "cancelled":
                assert sub.ends_at is not None
        elif kind == "subscription-invoices":
            invoice = payloads.read_invoice(payload)
            assert invoice.subscription_id == subscription_id_for(TENANT)
            assert invoice.total == PLANS["pro"].prices["month"]
        else:
            order = payloads.read_order(payload)
            assert order.variant_id == PLANS["pro"].variants["month"]


def test_unknown_plan_or_event_is_refused(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["simulate-webhook", "subscription_created", "--tenant", TENANT, "--plan", "free"])
    with pytest.raises(SystemExit):
        main(["simulate-webhook", "subscription_teleported", "--tenant", TENANT])


def test_secret_comes_from_flag_env_local_run_then_default(tmp_path: Path) -> None:
    var = tmp_path / "var"
    assert signing_secret(var_dir=var, environ={}) == (
        DEV_SIGNING_SECRET,
        "the development default",
    )

    made = local_secrets(var)["PINGVAS_LEMONSQUEEZY_SIGNING_SECRET"]
    assert len(made) >= 48
    assert signing_secret(var_dir=var, environ={})[0] == made

    env = {"PINGVAS_LEMONSQUEEZY_SIGNING_SECRET": "from-pingvas"}
    assert signing_secret(var_dir=var, environ=env)[0] == "from-pingvas"
    env["BILLING_LEMONSQUEEZY_SIGNING_SECRET"] = "from-billing"
    assert signing_secret(var_dir=var, environ=env)[0] == "from-billing"
    assert signing_secret("flag", var_dir=var, environ=env)[0] == "flag"


def test_the_local_run_gives_billing_the_same_secret(tmp_path: Path) -> None:
    """What the local run forwards to billing (BILLING_...) is what the CLI signs with."""
    from pingvas_billing.settings import Settings

    from pingvas_kit.dev.run import AwsTarget, service_env

    var = tmp_path / "var"
    secrets = local_secrets(var)
    aws = AwsTarget(
        endpoint_url="http://127.0.0.1:1",
        region="us-east-1",
        fake_credentials=True,
        description="t",
    )
    env = service_env(
        "billing", base=secrets, port=8102, var_dir=var, aws=aws, urls={}, log_level=None,
        log_json=False,
    )  # fmt: skip
    forwarded = env["BILLING_LEMONSQUEEZY_SIGNING_SECRET"]
    assert forwarded == secrets["PINGVAS_LEMONSQUEEZY_SIGNING_SECRET"]
    billing = Settings(_env_file=None, **{"BILLING_LEMONSQUEEZY_SIGNING_SECRET": forwarded})
    assert billing.lemonsqueezy_signing_secret.get_secret_value() == forwarded
    assert signing_secret(var_dir=var, environ={})[0] == forwarded


def test_console_script_signs_with_the_local_run_secret(receiver: Receiver, tmp_path: Path) -> None:
    var = tmp_path / "var"
    receiver.secret = local_secrets(var)["PINGVAS_LEMONSQUEEZY_SIGNING_SECRET"]
    script = Path(sys.executable).with_name("pingvas-billing")
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    done = subprocess.run(
        [str(script), "simulate-webhook", "subscription_payment_success", "--tenant", TENANT,
         "--url", receiver.url, "--var", str(var)],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [(headers, body, ok)] = receiver.received
    assert ok and headers["x-event-name"] == "subscription_payment_success"
    assert json.loads(body)["data"]["type"] == "subscription-invoices"


def test_sample_bodies_sign_the_bytes_sent() -> None:
    payload = sample_webhook("order_created", tenant_id=TENANT, plan_variant_id="1")
    body = encode(payload)
    from pingvas_billing.adapters.lemonsqueezy import sign

    assert verify(body, sign(body, SECRET), SECRET)
    assert not verify(encode({**payload, "meta": {**payload["meta"], "test_mode": False}}),
                      sign(body, SECRET), SECRET)  # fmt: skip


def test_a_local_run_made_before_keeps_its_secrets_and_gains_this_one(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir()
    old = {"PINGVAS_INTERNAL_SECRET": "kept-internal", "PINGVAS_JWT_SECRET": "kept-jwt"}
    (var / "secrets.json").write_text(json.dumps(old))
    now = local_secrets(var)
    assert {k: now[k] for k in old} == old
    assert len(now["PINGVAS_LEMONSQUEEZY_SIGNING_SECRET"]) >= 48
    assert local_secrets(var) == now


def test_the_real_webhook_route_accepts_it_and_the_plan_changes(
    moto_endpoint: str, bus_prefix: str, tmp_path: Path
) -> None:
    """The CLI against billing itself, served over HTTP: the route verifies the signature,
    records the event, and the processor applies it."""
    import httpx
    from pingvas_billing.app import create_app
    from pingvas_billing.settings import Settings

    from pingvas_kit.identity import HEADER, Identity, issue

    settings = Settings(
        aws_endpoint_url=moto_endpoint,
        bus_prefix=bus_prefix,
        var_dir=tmp_path,
        bus_wait_seconds=1,
        lemonsqueezy_signing_secret=SECRET,
        process_interval_s=0.1,
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "billing did not start"
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/webhooks/lemonsqueezy"
    try:
        wrong = ["simulate-webhook", "subscription_created", "--tenant", TENANT, "--url", url]
        assert main([*wrong, "--secret", "not-the-secret"]) == 1
        assert main([*wrong, "--secret", SECRET, "--plan", "team"]) == 0

        owner = Identity(principal_id="u1", kind="user", tenant_id=TENANT, roles=("owner",))
        secret = settings.internal_secret.get_secret_value()
        deadline = time.monotonic() + 20
        while True:
            # a fresh identity per request: billing accepts each token once
            headers = {HEADER: issue(owner, secret, audience="billing")}
            answer = httpx.get(f"{base}/api/v1/billing/subscription", headers=headers)
            if answer.status_code == 200 and answer.json().get("plan") == "team":
                break
            assert time.monotonic() < deadline, answer.text
            time.sleep(0.2)
        assert answer.json()["status"] == "active"
    finally:
        server.should_exit = True
        thread.join(15)


def test_unbound_leaves_the_checkout_binding_out(capsys) -> None:
    args = ["simulate-webhook", "subscription_created", "--tenant", TENANT, "--secret", SECRET]
    assert main([*args, "--dry-run", "--unbound"]) == 0
    custom = json.loads(capsys.readouterr().out)["body"]["meta"]["custom_data"]
    assert custom == {"tenant_id": TENANT}
