"""Revocation takes effect at once (docs/identity.md, "Revocation"): the gateway checks each
access token against tenants' current state of the person (token version, membership),
remembered for GATEWAY_SESSION_STATE_TTL seconds, and a key against tenants' key check,
remembered for GATEWAY_API_KEY_CACHE_TTL seconds."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid

from gateway_support import (
    INTERNAL_SECRET,
    Upstream,
    access_token,
    bearer,
    gateway,
    seen,
)
from pingvas_gateway.settings import Settings

from pingvas_kit.identity import verify
from pingvas_kit.problems import PROBLEM_JSON

SHORT = 0.3  # the cache time these tests run with; the default is 5 s


def _person() -> str:
    return "user-" + uuid.uuid4().hex[:12]


def _key() -> str:
    return "pvk_good" + secrets.token_hex(2) + "_" + "K" * 32


def _short(settings: Settings, **extra) -> Settings:
    return settings.model_copy(update={"session_state_ttl": SHORT, "api_key_cache_ttl": 1, **extra})


def assert_revoked(response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["code"] == "session_revoked"
    assert body["type"].endswith("/session_revoked")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_revocation_takes_effect_within_seconds_by_default():
    settings = Settings()
    assert 0 < settings.session_state_ttl <= 5
    assert 0 < settings.api_key_cache_ttl <= 5


async def test_a_token_issued_before_a_password_reset_is_refused_within_the_cache_time(
    settings, tenants: Upstream
):
    user = _person()
    before = access_token(sub=user, uver=0)
    async with gateway(_short(settings)) as client:
        assert (await client.get("/api/v1/me", headers=bearer(before))).status_code == 200
        # the password is reset: tenants raises the person's token version
        tenants.session_states[(user, "tenant-1")] = {"token_version": 1}
        await asyncio.sleep(SHORT + 0.1)
        assert_revoked(await client.get("/api/v1/me", headers=bearer(before)))
        # the session cookie is checked the same way
        assert_revoked(await client.get("/api/v1/me", headers={"cookie": f"pv_at={before}"}))
        # a token without `uver` (issued before versions existed) counts as version 0
        legacy = access_token(sub=user)
        assert_revoked(await client.get("/api/v1/me", headers=bearer(legacy)))
        # log-in again: the new token carries the new version
        after = access_token(sub=user, uver=1)
        response = await client.get("/api/v1/me", headers=bearer(after))
        assert response.status_code == 200, response.text


async def test_the_check_asks_tenants_as_the_gateway_for_the_person_and_tenant(
    settings, tenants: Upstream
):
    user = _person()
    async with gateway(settings) as client:
        for _ in range(3):
            response = await client.get(
                "/api/v1/me", headers=bearer(access_token(sub=user, tid="tenant-4"))
            )
            assert response.status_code == 200
    calls = [c for c in tenants.state_calls if c["user_id"] == user]
    # remembered: one question for three requests
    assert calls == [{"user_id": user, "tenant_id": "tenant-4"}]


async def test_a_removed_member_is_refused_for_that_tenant_only(settings, tenants: Upstream):
    user = _person()
    in_team = access_token(sub=user, tid="tenant-1", rol=("member",))
    elsewhere = access_token(sub=user, tid="tenant-2", rol=("owner",))
    no_team = access_token(sub=user, tid=None, rol=())
    tenants.session_states[(user, "tenant-1")] = {"member_since": None}
    async with gateway(_short(settings)) as client:
        assert_revoked(await client.get("/api/v1/images", headers=bearer(in_team)))
        response = await client.get("/api/v1/images", headers=bearer(elsewhere))
        assert response.status_code == 200, response.text
        identity = verify(seen(response)["headers"]["x-pingvas-identity"], INTERNAL_SECRET)
        assert (identity.principal_id, identity.tenant_id) == (user, "tenant-2")
        assert (await client.get("/api/v1/me", headers=bearer(no_team))).status_code == 200


async def test_a_removal_through_the_gateway_takes_effect_at_once(settings, tenants: Upstream):
    admin, member = _person(), _person()
    member_token = access_token(sub=member, rol=("member",))
    async with gateway(settings) as client:  # the default cache time (5 s)
        assert (await client.get("/api/v1/me", headers=bearer(member_token))).status_code == 200
        tenants.session_states[(member, "tenant-1")] = {"member_since": None}
        response = await client.delete(
            f"/api/v1/members/{member}", headers=bearer(access_token(sub=admin))
        )
        assert response.status_code == 200, response.text
        assert_revoked(await client.get("/api/v1/me", headers=bearer(member_token)))


async def test_a_member_removed_and_invited_again_keeps_the_old_token_refused(
    settings, tenants: Upstream
):
    user = _person()
    old = access_token(sub=user, iat=int(time.time()) - 120)
    tenants.session_states[(user, "tenant-1")] = {"member_since": int(time.time()) - 30}
    async with gateway(_short(settings)) as client:
        assert_revoked(await client.get("/api/v1/me", headers=bearer(old)))
        fresh = access_token(sub=user)  # issued with the new membership
        assert (await client.get("/api/v1/me", headers=bearer(fresh))).status_code == 200


async def test_a_deleted_tenants_tokens_and_api_keys_are_refused(settings, tenants: Upstream):
    owner, member, key = _person(), _person(), _key()
    tokens = [
        access_token(sub=owner, tid="tenant-del", rol=("owner",)),
        access_token(sub=member, tid="tenant-del", rol=("member",)),
    ]
    async with gateway(_short(settings)) as client:
        for token in tokens:
            assert (await client.get("/api/v1/images", headers=bearer(token))).status_code == 200
        assert (await client.get("/api/v1/images", headers=bearer(key))).status_code == 200
        # the owner deletes the team: no memberships, and tenants refuses its keys
        for user in (owner, member):
            tenants.session_states[(user, "tenant-del")] = {"member_since": None}
        tenants.refused_keys.add(key)
        await asyncio.sleep(1.1)  # the longer of the two cache times set above
        for token in tokens:
            assert_revoked(await client.get("/api/v1/images", headers=bearer(token)))
        response = await client.get("/api/v1/images", headers=bearer(key))
        assert response.status_code == 401
        assert response.headers["content-type"].startswith(PROBLEM_JSON)


async def test_an_unknown_person_is_refused(settings, tenants: Upstream):
    user = _person()
    tenants.session_states[(user, "tenant-1")] = {"user_exists": False}
    async with gateway(settings) as client:
        assert_revoked(await client.get("/api/v1/me", headers=bearer(access_token(sub=user))))


async def test_while_tenants_cannot_answer_the_last_answer_counts_and_an_unseen_token_is_503(
    settings, tenants: Upstream
):
    seen_before, never_seen = _person(), _person()
    async with gateway(_short(settings)) as client:
        token = access_token(sub=seen_before)
        assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 200
        await asyncio.sleep(SHORT + 0.1)
        tenants.state_status = 503
        try:
            assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 200
            response = await client.get("/api/v1/me", headers=bearer(access_token(sub=never_seen)))
        finally:
            tenants.state_status = 200
    assert response.status_code == 503
    assert response.headers["content-type"].startswith(PROBLEM_JSON)


async def test_a_logged_out_session_carries_the_code_too(client):
    token = access_token(sid="sid-" + uuid.uuid4().hex)
    assert (await client.post("/api/v1/auth/logout", headers=bearer(token))).status_code < 300
    assert_revoked(await client.get("/api/v1/me", headers=bearer(token)))


async def test_an_expired_token_is_refused_without_the_revocation_code(client):
    response = await client.get("/api/v1/me", headers=bearer(access_token(ttl=-60)))
    assert response.status_code == 401
    # the client refreshes: an expired token is not an ended session
    assert response.json()["code"] == "invalid_token"
