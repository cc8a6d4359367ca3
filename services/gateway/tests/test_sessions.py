"""Browser sessions: tokens in cookies, CSRF double submit, refresh and log-out by cookie."""

from __future__ import annotations

import socket
import uuid
from http.cookies import SimpleCookie

import pytest
from gateway_support import INTERNAL_SECRET, access_token, bearer, gateway, seen
from pydantic import SecretStr

from pingvas_kit.identity import verify
from pingvas_kit.problems import PROBLEM_JSON

WEB = {"x-pingvas-client": "web"}


def set_cookies(response) -> dict[str, SimpleCookie]:
    cookies = {}
    for header in response.headers.get_list("set-cookie"):
        parsed = SimpleCookie()
        parsed.load(header)
        for name in parsed:
            cookies[name] = parsed[name]
    return cookies


def cookie_header(**values: str) -> dict[str, str]:
    return {"cookie": "; ".join(f"{k}={v}" for k, v in values.items())}


async def _login(client) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/login", json={"email": "a@example.com", "password": "x"}, headers=WEB
    )
    assert response.status_code == 200, response.text
    return {name: morsel.value for name, morsel in set_cookies(response).items()}


async def test_a_web_login_moves_the_tokens_into_cookies(client):
    response = await client.post(
        "/api/v1/auth/login", json={"email": "a@example.com", "password": "x"}, headers=WEB
    )
    assert response.status_code == 200
    body = response.json()
    assert "access_token" not in body and "refresh_token" not in body
    assert body["user"]["email"] == "a@example.com" and body["expires_in"] == 900
    cookies = set_cookies(response)
    assert set(cookies) == {"pv_at", "pv_rt", "pv_csrf"}
    at, rt, csrf = cookies["pv_at"], cookies["pv_rt"], cookies["pv_csrf"]
    assert at["httponly"] and at["path"] == "/api" and at["samesite"].lower() == "lax"
    assert at["max-age"] == "900"
    assert rt["httponly"] and rt["path"] == "/api/v1/auth" and rt["samesite"].lower() == "strict"
    assert rt.value.startswith("pvr_")
    assert not csrf["httponly"] and csrf["path"] == "/" and csrf["samesite"].lower() == "strict"
    # plain http on loopback: not Secure (a browser would drop it); anywhere else: Secure
    assert not at["secure"]


async def test_cookies_are_secure_off_loopback(client):
    response = await client.post("https://pingvas.example/api/v1/auth/login", json={}, headers=WEB)
    cookies = set_cookies(response)
    assert all(cookies[name]["secure"] for name in ("pv_at", "pv_rt", "pv_csrf"))
    assert "max-age=31536000" in response.headers["strict-transport-security"]


async def test_without_the_web_header_tokens_stay_in_the_body(client):
    response = await client.post("/api/v1/auth/login", json={})
    assert "access_token" in response.json()
    assert "set-cookie" not in response.headers


async def test_the_session_cookie_authenticates_and_unsafe_methods_need_csrf(client):
    jar = await _login(client)
    response = await client.get("/api/v1/me", headers=cookie_header(pv_at=jar["pv_at"]))
    identity = verify(seen(response)["headers"]["x-pingvas-identity"], INTERNAL_SECRET)
    assert (identity.kind, identity.session_id) == ("user", "sid-from-login")

    cookies = cookie_header(pv_at=jar["pv_at"], pv_csrf=jar["pv_csrf"])
    response = await client.post("/api/v1/members", json={}, headers=cookies)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    response = await client.post(
        "/api/v1/members", json={}, headers={**cookies, "x-csrf-token": "wrong"}
    )
    assert response.status_code == 403
    response = await client.post(
        "/api/v1/members", json={}, headers={**cookies, "x-csrf-token": jar["pv_csrf"]}
    )
    assert response.status_code == 200
    assert "x-csrf-token" not in seen(response)["headers"]


async def test_a_bearer_token_needs_no_csrf(client):
    response = await client.post("/api/v1/members", json={}, headers=bearer(access_token()))
    assert response.status_code == 200


async def test_refresh_takes_the_refresh_token_from_its_cookie(client):
    jar = await _login(client)
    cookies = cookie_header(pv_rt=jar["pv_rt"], pv_csrf=jar["pv_csrf"])
    response = await client.post(
        "/api/v1/auth/refresh", headers={**WEB, **cookies, "x-csrf-token": jar["pv_csrf"]}
    )
    assert response.status_code == 200, response.text
    got = response.json()["seen"]
    assert got["headers"]["content-type"] == "application/json"
    assert '"refresh_token": "pvr_' in got["body"]
    assert set(set_cookies(response)) == {"pv_at", "pv_rt", "pv_csrf"}  # rotated
    # without the CSRF header the cookie is not used
    response = await client.post("/api/v1/auth/refresh", headers={**WEB, **cookies})
    assert response.status_code == 403
    # a refresh token in the body wins
    response = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": "pvr_body"}, headers={**WEB, **cookies}
    )
    assert '"pvr_body"' in response.json()["seen"]["body"]


async def test_following_the_verification_link_brings_the_sessions_refresh_token(client):
    """So that tenants can renew the browser's session as verified in the same answer."""
    jar = await _login(client)
    cookies = cookie_header(pv_rt=jar["pv_rt"], pv_csrf=jar["pv_csrf"])
    response = await client.post(
        "/api/v1/auth/verify-email",
        json={"token": "pv-link"},
        headers={**WEB, **cookies, "x-csrf-token": jar["pv_csrf"]},
    )
    assert response.status_code == 200, response.text
    sent = response.json()["body"]
    assert '"token": "pv-link"' in sent and f'"refresh_token": "{jar["pv_rt"]}"' in sent
    # without the CSRF header the link still works, as anonymous, without the cookie's token
    response = await client.post(
        "/api/v1/auth/verify-email", json={"token": "pv-link"}, headers={**WEB, **cookies}
    )
    assert response.status_code == 200, response.text
    assert "refresh_token" not in response.json()["body"]


async def test_logout_clears_the_cookies_and_ends_the_session_at_once(client):
    jar = await _login(client)
    cookies = cookie_header(**jar)
    response = await client.post(
        "/api/v1/auth/logout", headers={**WEB, **cookies, "x-csrf-token": jar["pv_csrf"]}
    )
    assert response.status_code == 200, response.text
    assert '"refresh_token": "pvr_' in response.json()["body"]
    cleared = set_cookies(response)
    assert set(cleared) == {"pv_at", "pv_rt", "pv_csrf"}
    assert all(cleared[name]["max-age"] == "0" and not cleared[name].value for name in cleared)
    # the access token still has 15 minutes on it, but its session is over
    response = await client.get("/api/v1/me", headers=cookie_header(pv_at=jar["pv_at"]))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_logout_by_bearer_deny_lists_the_session_too(client):
    token = access_token(sid="sid-bearer")
    other = access_token(sid="sid-other")
    response = await client.post("/api/v1/auth/logout", json={}, headers=bearer(token))
    assert response.status_code == 200
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 401
    assert (await client.get("/api/v1/me", headers=bearer(other))).status_code == 200


async def test_with_redis_the_deny_list_and_the_limits_live_there(settings):
    """Against the machine's Redis (.ci/run starts it when it is down)."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 6379)) != 0:
            pytest.fail("Redis is not reachable on 127.0.0.1:6379; start it (see .ci/run)")
    settings.redis_url = SecretStr("redis://127.0.0.1:6379/0")
    settings.rate_limit_tenant = "2/minute"
    tenant, sid = f"tenant-{uuid.uuid4().hex}", f"sid-{uuid.uuid4().hex}"
    token = access_token(tid=tenant, sid=sid)
    async with gateway(settings) as client:
        assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 200
        assert (await client.post("/api/v1/auth/logout", headers=bearer(token))).status_code == 200
    # a second gateway (another replica) sees both the log-out and the tenant's count
    async with gateway(settings) as client:
        assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 401
        fresh = access_token(tid=tenant)
        assert (await client.get("/api/v1/me", headers=bearer(fresh))).status_code == 429
