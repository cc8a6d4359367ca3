"""Mail behind the gateway: notification preferences (signed in), the one-click unsubscribe
link (anyone, RFC 8058 POSTs from mail clients included), and the local run's /dev/mail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from gateway_support import (
    INTERNAL_SECRET,
    JWT_SECRET,
    Upstream,
    access_token,
    bearer,
    gateway,
    seen,
    standin_upstream,
)
from pingvas_gateway.settings import Settings

from pingvas_kit.dev.run import GATEWAY, AwsTarget, service_env
from pingvas_kit.identity import verify

UNSUBSCRIBE = "/api/v1/mail/unsubscribe"
ONE_CLICK = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def mail() -> Iterator[Upstream]:
    """The mail service: echoes what reached it, like the others."""
    yield from standin_upstream("mail")


def mail_settings(tenants: Upstream, mail: Upstream, web_dist: Path, **extra) -> Settings:
    return Settings(
        upstreams={"tenants": tenants.url, "mail": mail.url},
        jwt_secret=JWT_SECRET,
        internal_secret=INTERNAL_SECRET,
        upstream_timeout=0.5,
        web_dist=web_dist,
        **extra,
    )


@pytest.fixture
async def mail_client(tenants: Upstream, mail: Upstream, tmp_path: Path):
    async with gateway(mail_settings(tenants, mail, tmp_path / "no-build")) as client:
        yield client


def identity_of(response):
    return verify(seen(response)["headers"]["x-pingvas-identity"], INTERNAL_SECRET)


def cookies(**values: str) -> dict[str, str]:
    return {"cookie": "; ".join(f"{k}={v}" for k, v in values.items())}


# -- /api/v1/notification-preferences and /api/v1/mail -----------------------------------------


async def test_preferences_go_to_mail_for_the_signed_in_person(mail_client):
    token = access_token(sub="user-5", tid="tenant-5")
    response = await mail_client.put(
        "/api/v1/notification-preferences",
        json={"job_completed": False, "usage_notices": True, "newsletter": False},
        headers=bearer(token),
    )
    got = seen(response)
    assert (got["service"], got["method"], got["path"]) == (
        "mail",
        "PUT",
        "/api/v1/notification-preferences",
    )
    assert json.loads(got["body"]) == {
        "job_completed": False,
        "usage_notices": True,
        "newsletter": False,
    }
    assert identity_of(response).principal_id == "user-5"
    assert (await mail_client.get("/api/v1/notification-preferences")).status_code == 401


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_unsubscribe_is_public_and_reaches_mail_as_anonymous(mail_client, method):
    body = b"List-Unsubscribe=One-Click" if method == "POST" else b""
    response = await mail_client.request(
        method, UNSUBSCRIBE, params={"token": "tok.abc"}, content=body, headers=ONE_CLICK
    )
    got = seen(response)
    assert (got["service"], got["method"], got["path"], got["query"]) == (
        "mail",
        method,
        UNSUBSCRIBE,
        "token=tok.abc",
    )
    assert got["body"] == body.decode()
    identity = identity_of(response)
    assert (identity.kind, identity.tenant_id) == ("anonymous", None)
    # a trailing slash is the same route
    assert seen(await mail_client.get(UNSUBSCRIBE + "/?token=t"))["service"] == "mail"


async def test_a_one_click_post_needs_no_csrf_token(mail_client):
    """A mail client's POST carries no cookies: no CSRF token is asked for. A browser that
    happens to hold a session but sends no token goes on as anonymous, never as the user."""
    response = await mail_client.post(
        UNSUBSCRIBE + "?token=t1", content=b"List-Unsubscribe=One-Click", headers=ONE_CLICK
    )
    assert identity_of(response).kind == "anonymous"

    session = cookies(pv_at=access_token(sub="user-5"), pv_csrf="c" * 32)
    response = await mail_client.post(
        UNSUBSCRIBE + "?token=t1", content=b"List-Unsubscribe=One-Click", headers=session
    )
    assert identity_of(response).kind == "anonymous"
    assert "cookie" not in seen(response)["headers"]

    # the SPA's own POST (cookie + token) is the signed-in user
    response = await mail_client.post(
        UNSUBSCRIBE + "?token=t1", json={}, headers={**session, "x-csrf-token": "c" * 32}
    )
    assert identity_of(response).principal_id == "user-5"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", UNSUBSCRIBE),
        ("DELETE", UNSUBSCRIBE),
        ("GET", UNSUBSCRIBE + "/other"),
        ("GET", "/api/v1/mail/messages"),
        ("POST", "/api/v1/mail/campaigns"),
    ],
)
async def test_the_rest_of_mail_needs_credentials(mail_client, method, path):
    assert (await mail_client.request(method, path)).status_code == 401
    response = await mail_client.request(method, path, headers=bearer(access_token()))
    assert seen(response)["service"] == "mail"


# -- /dev/mail (the local run's inbox) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query"),
    [("/dev/mail", ""), ("/dev/mail/", ""), ("/dev/mail/messages", "limit=5")],
)
async def test_dev_mail_goes_to_the_mail_service_without_a_log_in(
    tenants: Upstream, mail: Upstream, tmp_path: Path, path: str, query: str
):
    settings = mail_settings(tenants, mail, tmp_path / "no-build", dev_mail=True)
    async with gateway(settings) as client:
        response = await client.get(path + (f"?{query}" if query else ""), headers=cookies(x="1"))
    got = seen(response)
    assert (got["service"], got["method"], got["path"], got["query"]) == (
        "mail",
        "GET",
        path,
        query,
    )
    assert "cookie" not in got["headers"]
    assert identity_of(response).kind == "anonymous"
    assert response.headers["content-type"].startswith("application/json")
    # the inbox may frame its own pages (a message's HTML); never another site's
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "SAMEORIGIN"


async def test_dev_mail_without_the_mail_service_is_a_clear_error(
    tenants: Upstream, mail: Upstream, tmp_path: Path
):
    settings = mail_settings(tenants, mail, tmp_path / "no-build", dev_mail=True)
    settings.upstreams.pop("mail")
    async with gateway(settings) as client:
        response = await client.get("/dev/mail")
    assert response.status_code == 503
    assert "mail service" in response.json()["detail"]


async def test_without_dev_mail_the_path_is_the_spa_like_any_unknown_page(
    tenants: Upstream, mail: Upstream, tmp_path: Path
):
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html><title>Pingvas</title>")
    async with gateway(mail_settings(tenants, mail, dist)) as client:
        for path in ("/dev/mail", "/dev/mail/messages"):
            response = await client.get(path)
            assert response.status_code == 200
            assert response.text.startswith("<!doctype html>")
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    async with gateway(mail_settings(tenants, mail, tmp_path / "no-build")) as client:
        assert (await client.get("/dev/mail")).status_code == 404
    assert Settings().dev_mail is False


async def test_the_rest_of_dev_stays_the_spa_when_dev_mail_is_on(
    tenants: Upstream, mail: Upstream, tmp_path: Path
):
    dist = tmp_path / "dist"
    (dist / "dev").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>Pingvas</title>")
    (dist / "dev" / "note.txt").write_text("a file of the build")
    async with gateway(mail_settings(tenants, mail, dist, dev_mail=True)) as client:
        for path in ("/dev", "/dev/", "/dev/mailbox", "/dev/other/page"):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert response.text.startswith("<!doctype html>"), path
            assert response.headers["x-frame-options"] == "DENY"
        assert (await client.get("/dev/note.txt")).text == "a file of the build"
        assert (await client.get("/dev/missing.js")).status_code == 404


def test_the_local_run_turns_the_dev_inbox_on(tmp_path: Path):
    aws = AwsTarget("http://127.0.0.1:4566", "us-east-1", True, "moto")
    urls = {GATEWAY: "http://127.0.0.1:8080", "mail": "http://127.0.0.1:8104"}

    def env(name: str, **base: str) -> dict[str, str]:
        return service_env(
            name, base=base, port=8104, var_dir=tmp_path, aws=aws, urls=urls,
            log_level=None, log_json=False,
        )  # fmt: skip

    assert env(GATEWAY)["GATEWAY_DEV_MAIL"] == "true"
    assert env("mail")["MAIL_DEV_INBOX"] == "true"
    assert Settings.model_validate({}).dev_mail is False
    assert env(GATEWAY, GATEWAY_DEV_MAIL="false")["GATEWAY_DEV_MAIL"] == "false"
