"""Routing and authentication: what reaches the services, and who gets refused."""

from __future__ import annotations

import pytest
from gateway_support import (
    GOOD_KEY,
    INTERNAL_SECRET,
    REVOKED_KEY,
    access_token,
    bearer,
    gateway,
    seen,
)

from pingvas_kit.identity import Identity, issue, verify
from pingvas_kit.ports import free_port
from pingvas_kit.problems import PROBLEM_JSON


async def test_a_bearer_token_reaches_the_service_as_a_signed_identity(client):
    token = access_token(sub="user-1", tid="tenant-1", rol=("admin",), sid="sid-1")
    response = await client.post(
        "/api/v1/members?page=2",
        content=b'{"email": "b@example.com"}',
        headers={
            **bearer(token),
            "content-type": "application/json",
            "x-request-id": "req-abc",
            "accept-language": "ko",
            "cookie": "other=1",
        },
    )
    got = seen(response)
    assert got["service"] == "tenants"
    assert (got["method"], got["path"], got["query"]) == ("POST", "/api/v1/members", "page=2")
    assert got["body"] == '{"email": "b@example.com"}'
    headers = got["headers"]
    assert headers["content-type"] == "application/json"
    assert headers["accept-language"] == "ko"
    assert headers["x-request-id"] == "req-abc"
    # the caller's credentials stay at the edge
    assert "authorization" not in headers and "cookie" not in headers
    identity = verify(headers["x-pingvas-identity"], INTERNAL_SECRET)
    assert identity.kind == "user"
    assert (identity.principal_id, identity.tenant_id, identity.roles) == (
        "user-1",
        "tenant-1",
        ("admin",),
    )
    assert identity.session_id == "sid-1"
    assert identity.request_id == "req-abc"
    assert identity.email_verified
    # back to the caller: the status, the body, safe headers, never the service's cookies
    assert response.headers["x-request-id"] == "req-abc"
    assert response.headers["x-upstream"] == "tenants"
    assert "set-cookie" not in response.headers


async def test_each_prefix_goes_to_its_service(client):
    token = access_token()
    assert seen(await client.get("/api/v1/models", headers=bearer(token)))["service"] == "render"
    assert seen(await client.get("/api/v1/me", headers=bearer(token)))["service"] == "tenants"


async def test_an_identity_header_from_the_caller_is_never_forwarded(client):
    forged = issue(
        Identity(principal_id="root", kind="user", tenant_id="other", roles=("owner",)),
        INTERNAL_SECRET,
        audience="tenants",
    )
    response = await client.post(
        "/api/v1/auth/login",
        json={"email": "a@example.com"},
        headers={"x-pingvas-identity": forged},
    )
    forwarded = seen(response)["headers"]["x-pingvas-identity"]
    assert forwarded != forged
    assert verify(forwarded, INTERNAL_SECRET).kind == "anonymous"

    response = await client.get(
        "/api/v1/me", headers={**bearer(access_token()), "x-pingvas-identity": forged}
    )
    identity = verify(seen(response)["headers"]["x-pingvas-identity"], INTERNAL_SECRET)
    assert (identity.principal_id, identity.tenant_id) == ("user-1", "tenant-1")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/auth/signup",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/verify-email",
        "/api/v1/auth/verify-email/request",
        "/api/v1/auth/password-reset",
        "/api/v1/auth/password-reset/confirm",
        "/api/v1/invitations/tok123/accept",
    ],
)
async def test_public_routes_pass_with_an_anonymous_identity(client, path):
    """(And GET auth/password-policy and billing/plans: see the test below.)"""
    got = seen(await client.post(path, json={}))
    identity = verify(got["headers"]["x-pingvas-identity"], INTERNAL_SECRET)
    assert (identity.kind, identity.principal_id, identity.tenant_id) == (
        "anonymous",
        "anonymous",
        None,
    )
    assert identity.client_ip


async def test_the_model_catalog_is_public_and_the_models_of_the_team_are_not(client):
    got = seen(await client.get("/api/v1/models/catalog"))
    assert verify(got["headers"]["x-pingvas-identity"], INTERNAL_SECRET).kind == "anonymous"
    assert (await client.get("/api/v1/models")).status_code == 401


@pytest.mark.parametrize("path", ["/api/v1/auth/password-policy", "/api/v1/billing/plans"])
async def test_the_public_home_and_forms_read_the_rule_and_the_plans_anonymously(client, path):
    got = seen(await client.get(path))
    identity = verify(got["headers"]["x-pingvas-identity"], INTERNAL_SECRET)
    assert identity.kind == "anonymous"


async def test_a_public_route_uses_a_valid_token_and_ignores_a_bad_one(client):
    got = seen(await client.get("/api/v1/invitations/tok123", headers=bearer(access_token())))
    assert verify(got["headers"]["x-pingvas-identity"], INTERNAL_SECRET).kind == "user"
    # an expired token must not stop a refresh
    expired = access_token(ttl=-60)
    got = seen(await client.post("/api/v1/auth/refresh", json={}, headers=bearer(expired)))
    assert verify(got["headers"]["x-pingvas-identity"], INTERNAL_SECRET).kind == "anonymous"


async def test_webhooks_pass_anonymous_with_their_signature_header(client):
    got = seen(
        await client.post(
            "/webhooks/lemonsqueezy", content=b'{"x":1}', headers={"x-signature": "abc"}
        )
    )
    assert got["path"] == "/webhooks/lemonsqueezy"
    assert got["headers"]["x-signature"] == "abc"
    assert got["body"] == '{"x":1}'


async def test_no_credentials_is_a_401_problem_with_a_challenge(client):
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.headers["www-authenticate"] == 'Bearer realm="pingvas"'
    assert response.json()["status"] == 401
    # GET invitations (the list) is not the public invitation look-up
    assert (await client.get("/api/v1/invitations")).status_code == 401


@pytest.mark.parametrize(
    "token",
    [
        access_token(ttl=-60),
        access_token(secret="not-the-secret-0123456789abcdef0123456789"),
        access_token(aud="someone-else"),
        access_token(iss="someone-else"),
        "not.a.jwt",
        "pvk_unknown",
    ],
    ids=["expired", "wrong-secret", "wrong-audience", "wrong-issuer", "garbage", "unknown-key"],
)
async def test_bad_credentials_are_a_401_problem(client, token):
    response = await client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_an_api_key_is_verified_by_tenants_once_per_cache_period(client, tenants):
    tenants.verify_calls.clear()
    for _ in range(3):
        got = seen(await client.get("/api/v1/images", headers=bearer(GOOD_KEY)))
        identity = verify(got["headers"]["x-pingvas-identity"], INTERNAL_SECRET)
        assert (identity.kind, identity.principal_id, identity.tenant_id, identity.scopes) == (
            "api_key",
            "key-7",
            "tenant-9",
            ("images:read",),
        )
    assert len(tenants.verify_calls) == 1
    # tenants was asked as the gateway, anonymously
    assert verify(tenants.verify_calls[0], INTERNAL_SECRET).kind == "anonymous"

    for _ in range(2):
        response = await client.get("/api/v1/images", headers=bearer(REVOKED_KEY))
        assert response.status_code == 401
    assert len(tenants.verify_calls) == 2  # the refusal is remembered too


async def test_an_unknown_api_path_is_a_404_problem(client):
    response = await client.get("/api/v1/nothing-here", headers=bearer(access_token()))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM_JSON)


async def test_a_slow_service_is_a_504_problem(client):
    response = await client.get("/api/v1/models/slow", headers=bearer(access_token()))
    assert response.status_code == 504
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["title"] == "Gateway Timeout"


async def test_an_unreachable_service_is_a_502_problem(client):
    response = await client.get("/api/v1/search?q=x", headers=bearer(access_token()))
    assert response.status_code == 502
    assert response.headers["content-type"].startswith(PROBLEM_JSON)


async def test_a_service_not_deployed_is_a_503_problem(settings):
    settings.upstreams.pop("render")
    async with gateway(settings) as client:
        response = await client.get("/api/v1/models", headers=bearer(access_token()))
    assert response.status_code == 503


async def test_a_large_response_streams_through(client):
    response = await client.get("/api/v1/images/big", headers=bearer(access_token()))
    assert response.status_code == 200
    assert response.content == b"x" * 300_000


async def test_a_live_event_stream_outlasting_the_upstream_timeout_arrives_whole(client):
    # 4 events over ~0.9 s against a 0.5 s upstream timeout: silence is limited, not length
    response = await client.get(
        "/api/v1/generations/job-1/events",
        headers={**bearer(access_token()), "Last-Event-ID": "7"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "event: hello\ndata: 7\n" in response.text  # reconnects resume where they left
    assert [line for line in response.text.splitlines() if line.startswith("id:")] == [
        "id: 1",
        "id: 2",
        "id: 3",
        "id: 4",
    ]


async def test_api_keys_are_a_503_problem_while_tenants_cannot_check_them(settings):
    settings.upstreams["tenants"] = f"http://127.0.0.1:{free_port()}"
    async with gateway(settings) as client:
        response = await client.get("/api/v1/images", headers=bearer(GOOD_KEY))
    assert response.status_code == 503
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
