"""Revocation takes effect at once (docs/identity.md, "Revocation"): the access token carries
the person's token version (`uver`), a password reset raises it, and the gateway compares a
token with POST /internal/sessions/state (token version, membership) before letting it in."""

from __future__ import annotations

import time

import jwt
from pingvas_tenants.domain.tokens import issue_access_token

from .conftest import link_token

OWNER = "owner@haneul.example"
NEW_PASSWORD = "a brand new passphrase"


async def _state(gw, user_id: str, tenant_id: str | None) -> dict:
    r = await gw.post("/internal/sessions/state", {"user_id": user_id, "tenant_id": tenant_id})
    assert r.status_code == 200, r.text
    return r.json()


def _refused(state: dict, claims: dict) -> bool:
    """The gateway's rule (services/gateway adapters/session_state.py), written out again."""
    if not state["user_exists"] or claims.get("uver", 0) < state["token_version"]:
        return True
    if claims["tid"] is not None:
        return state["member_since"] is None or claims["iat"] + 5 < state["member_since"]
    return False


async def _reset(gw, email: str, **extra) -> None:
    await gw.post("/api/v1/auth/password-reset", {"email": email})
    url = (await gw.events("user.password_reset_requested"))[-1]["data"]["reset_url"]
    r = await gw.post(
        "/api/v1/auth/password-reset/confirm",
        {"token": link_token(url), "password": NEW_PASSWORD, **extra},
    )
    assert r.status_code == 204, r.text


async def _key(gw, pair: dict, name: str = "ci") -> dict:
    r = await gw.post(
        "/api/v1/api-keys", {"name": name, "scopes": ["images:read"]}, as_=gw.user(pair)
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _audit(gw, pair: dict) -> list[dict]:
    r = await gw.get("/api/v1/audit-log", as_=gw.user(pair))
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_the_state_check_is_for_the_gateway_only(gw):
    r = await gw.client.post("/internal/sessions/state", json={"user_id": "u", "tenant_id": None})
    assert r.status_code == 401
    assert (await _state(gw, "nobody", None)) == {
        "user_exists": False,
        "token_version": 0,
        "tenant_id": None,
        "member_since": None,
    }


async def test_a_password_reset_refuses_the_tokens_issued_before_it(gw):
    owner = await gw.signup(OWNER)
    user_id, tenant_id = owner["user"]["id"], owner["tenant"]["id"]
    before = gw.claims(owner)
    assert before["uver"] == 0
    state = await _state(gw, user_id, tenant_id)
    assert state["user_exists"] and state["token_version"] == 0
    assert state["member_since"] <= before["iat"] <= time.time()
    assert not _refused(state, before)

    await _reset(gw, OWNER)

    state = await _state(gw, user_id, tenant_id)
    assert state["token_version"] == 1
    assert _refused(state, before)
    # the refresh-token family ended with it, so the old session cannot renew itself
    r = await gw.post("/api/v1/auth/refresh", {"refresh_token": owner["refresh_token"]})
    assert r.status_code == 401
    # a new log-in carries the new version and holds
    again = (await gw.login(OWNER, NEW_PASSWORD)).json()
    assert gw.claims(again)["uver"] == 1
    assert not _refused(state, gw.claims(again))
    # and a refresh keeps it
    renewed = await gw.post("/api/v1/auth/refresh", {"refresh_token": again["refresh_token"]})
    assert gw.claims(renewed.json())["uver"] == 1


async def test_a_removed_members_token_is_refused_for_that_tenant(gw):
    owner = await gw.signup(OWNER)
    tenant_id = owner["tenant"]["id"]
    member = await gw.invite_and_join(owner, "a@haneul.example")
    member_id = member["user"]["id"]
    claims = gw.claims(member)
    assert not _refused(await _state(gw, member_id, tenant_id), claims)

    r = await gw.client.delete(f"/api/v1/members/{member_id}", headers=gw.user(owner))
    assert r.status_code == 204, r.text

    state = await _state(gw, member_id, tenant_id)
    assert state["user_exists"] and state["member_since"] is None
    assert _refused(state, claims)
    # the person is still someone (no team), and the owner is untouched
    assert not _refused(await _state(gw, member_id, None), {**claims, "tid": None})
    assert not _refused(await _state(gw, owner["user"]["id"], tenant_id), gw.claims(owner))


async def test_a_deleted_tenants_members_and_keys_are_refused(gw):
    owner = await gw.signup(OWNER, team="Haneul Studio")
    tenant_id = owner["tenant"]["id"]
    admin = await gw.invite_and_join(owner, "admin@haneul.example", role="admin")
    key = await _key(gw, owner)
    assert (await gw.post("/internal/api-keys/verify", {"key": key["key"]})).status_code == 200

    r = await gw.client.request(
        "DELETE", "/api/v1/tenant", json={"confirm": "Haneul Studio"}, headers=gw.user(owner)
    )
    assert r.status_code == 204, r.text

    for pair in (owner, admin):
        state = await _state(gw, pair["user"]["id"], tenant_id)
        assert state["member_since"] is None and _refused(state, gw.claims(pair))
    assert (await gw.post("/internal/api-keys/verify", {"key": key["key"]})).status_code == 401


async def test_an_owners_reset_may_revoke_the_teams_api_keys_and_says_so_in_the_audit_log(gw):
    owner = await gw.signup(OWNER)
    admin = await gw.invite_and_join(owner, "admin@haneul.example", role="admin")
    keys = [await _key(gw, owner, "ci"), await _key(gw, admin, "partner")]

    await _reset(gw, OWNER, revoke_api_keys=True)

    for key in keys:
        assert (await gw.post("/internal/api-keys/verify", {"key": key["key"]})).status_code == 401
    revoked = await gw.events("apikey.revoked")
    assert sorted(e["data"]["api_key_id"] for e in revoked) == sorted(k["id"] for k in keys)
    assert {e["data"]["reason"] for e in revoked} == {"password_reset"}
    assert {e["data"]["revoked_by_user_id"] for e in revoked} == {owner["user"]["id"]}
    assert {e["tenantid"] for e in revoked} == {owner["tenant"]["id"]}

    items = await _audit(gw, (await gw.login(OWNER, NEW_PASSWORD)).json())
    by_action: dict[str, list[dict]] = {}
    for item in items:
        by_action.setdefault(item["action"], []).append(item)
    reset = by_action["password.reset"][0]
    assert reset["actor_id"] == owner["user"]["id"]
    assert reset["details"] == {"revoke_api_keys": True, "api_keys_revoked": 2}
    revocations = by_action["apikey.revoked"]
    assert sorted(i["target_id"] for i in revocations) == sorted(k["id"] for k in keys)
    assert {i["details"]["reason"] for i in revocations} == {"password_reset"}
    assert {i["actor_id"] for i in revocations} == {owner["user"]["id"]}


async def test_a_non_owners_revoke_api_keys_flag_is_ignored(gw):
    owner = await gw.signup(OWNER)
    admin = await gw.invite_and_join(owner, "admin@haneul.example", role="admin")
    keys = [await _key(gw, owner, "ci"), await _key(gw, admin, "partner")]

    await _reset(gw, "admin@haneul.example", revoke_api_keys=True)

    for key in keys:
        assert (await gw.post("/internal/api-keys/verify", {"key": key["key"]})).status_code == 200
    assert await gw.events("apikey.revoked") == []
    items = await _audit(gw, owner)
    assert [i["action"] for i in items if i["action"].startswith("apikey.")] == [
        "apikey.created",
        "apikey.created",
    ]
    reset = next(i for i in items if i["action"] == "password.reset")
    assert reset["actor_id"] == admin["user"]["id"] and reset["details"] is None
    # the admin's own sessions still ended
    state = await _state(gw, admin["user"]["id"], owner["tenant"]["id"])
    assert state["token_version"] == 1 and _refused(state, gw.claims(admin))


async def test_without_the_flag_an_owners_reset_leaves_the_keys(gw):
    owner = await gw.signup(OWNER)
    key = await _key(gw, owner)
    await _reset(gw, OWNER)
    assert (await gw.post("/internal/api-keys/verify", {"key": key["key"]})).status_code == 200
    assert await gw.events("apikey.revoked") == []


def test_the_access_token_names_its_version():
    token = issue_access_token(
        secret="s" * 32,
        ttl=60,
        user_id="u1",
        tenant_id=None,
        role=None,
        platform_roles=(),
        email_verified=True,
        session_id="f1",
        user_version=3,
    )
    claims = jwt.decode(token, "s" * 32, algorithms=["HS256"], audience="pingvas-api")
    assert claims["uver"] == 3
