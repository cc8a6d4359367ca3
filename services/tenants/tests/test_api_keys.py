"""API keys, the gateway's key check, tenant isolation, the audit log and tenant deletion."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from pingvas_tenants.adapters.db import api_keys

from pingvas_kit.problems import PROBLEM_JSON

from .conftest import PASSWORD

KEY = re.compile(r"^pvk_[A-Za-z0-9]{8}_[A-Za-z0-9]{32}$")


async def test_api_key_create_verify_revoke(gw):
    owner = await gw.signup("owner@haneul.example")
    body = {"name": "partner backend", "scopes": ["images:read", "generations:write"]}
    r = await gw.post("/api/v1/api-keys", body, as_=gw.user(owner))
    assert r.status_code == 201, r.text
    created = r.json()
    key = created["key"]
    assert KEY.match(key) and key.startswith(created["prefix"] + "_")
    assert created["scopes"] == ["generations:write", "images:read"]

    # stored hashed: the key itself is nowhere in the database, the list or the events
    async with gw.db.sessionmaker() as session:
        row = (await session.execute(sa.select(api_keys))).one()
    assert key not in str(tuple(row))
    listed = (await gw.get("/api/v1/api-keys", as_=gw.user(owner))).json()
    assert key not in str(listed) and "key" not in listed[0]
    assert listed[0]["prefix"] == created["prefix"] and listed[0]["last_used_at"] is None
    event = (await gw.events("apikey.created"))[0]
    assert key not in str(event) and event["data"]["prefix"] == created["prefix"]

    # the gateway checks the key (its identity for the call is anonymous)
    verified = await gw.post("/internal/api-keys/verify", {"key": key})
    assert verified.status_code == 200
    assert verified.json() == {
        "api_key_id": created["id"],
        "tenant_id": owner["tenant"]["id"],
        "scopes": ["generations:write", "images:read"],
        "name": "partner backend",
        "email_verified": True,
    }
    used = (await gw.get("/api/v1/api-keys", as_=gw.user(owner))).json()[0]["last_used_at"]
    assert used is not None
    await gw.post("/internal/api-keys/verify", {"key": key})
    assert (await gw.get("/api/v1/api-keys", as_=gw.user(owner))).json()[0][
        "last_used_at"
    ] == used  # once a minute
    await gw.execute(
        api_keys.update().values(last_used_at=datetime.now(UTC) - timedelta(minutes=2))
    )
    await gw.post("/internal/api-keys/verify", {"key": key})
    assert (await gw.get("/api/v1/api-keys", as_=gw.user(owner))).json()[0]["last_used_at"] > used

    for bad in (key[:-1] + ("A" if key[-1] != "A" else "B"), "pvk_nonsense", "x" * 40):
        r = await gw.post("/internal/api-keys/verify", {"key": bad})
        assert r.status_code == 401 and r.headers["content-type"].startswith(PROBLEM_JSON)
    # nobody but the gateway
    assert (await gw.client.post("/internal/api-keys/verify", json={"key": key})).status_code == 401

    # bad scopes, and an API key cannot manage keys
    assert (
        await gw.post(
            "/api/v1/api-keys", {"name": "x", "scopes": ["admin:all"]}, as_=gw.user(owner)
        )
    ).status_code == 422
    assert (
        await gw.post("/api/v1/api-keys", {"name": "x", "scopes": []}, as_=gw.user(owner))
    ).status_code == 422
    as_key = gw.key(created["id"], owner["tenant"]["id"], created["scopes"])
    assert (await gw.get("/api/v1/api-keys", as_=as_key)).status_code == 403

    r = await gw.client.delete(f"/api/v1/api-keys/{created['id']}", headers=gw.user(owner))
    assert r.status_code == 204
    assert (await gw.post("/internal/api-keys/verify", {"key": key})).status_code == 401
    assert (await gw.get("/api/v1/api-keys", as_=gw.user(owner))).json()[0][
        "revoked_at"
    ] is not None
    assert (
        await gw.client.delete(f"/api/v1/api-keys/{created['id']}", headers=gw.user(owner))
    ).status_code == 204
    revoked = await gw.events("apikey.revoked")
    assert len(revoked) == 1 and revoked[0]["data"]["reason"] == "user"

    actions = [
        e["action"] for e in (await gw.get("/api/v1/audit-log", as_=gw.user(owner))).json()["items"]
    ]
    assert actions[:2] == ["apikey.revoked", "apikey.created"]


async def test_tenants_are_isolated(gw):
    a = await gw.signup("a@alpha.example", team="Alpha")
    b = await gw.signup("b@beta.example", team="Beta")
    key = (
        await gw.post("/api/v1/api-keys", {"name": "k", "scopes": ["images:read"]}, as_=gw.user(a))
    ).json()
    await gw.post("/api/v1/invitations", {"email": "x@alpha.example"}, as_=gw.user(a))
    a_owner = a["user"]["id"]
    invitation_id = (await gw.get("/api/v1/invitations", as_=gw.user(a))).json()[0]["id"]

    # B sees only B
    assert [m["email"] for m in (await gw.get("/api/v1/members", as_=gw.user(b))).json()] == [
        "b@beta.example"
    ]
    assert (await gw.get("/api/v1/api-keys", as_=gw.user(b))).json() == []
    assert (await gw.get("/api/v1/invitations", as_=gw.user(b))).json() == []
    audit = (await gw.get("/api/v1/audit-log", as_=gw.user(b))).json()["items"]
    # only B's own log-in
    assert [(e["action"], e["actor_id"]) for e in audit] == [("login.succeeded", b["user"]["id"])]
    # and A's resources are 404 to B
    for method, path, body in (
        ("DELETE", f"/api/v1/api-keys/{key['id']}", None),
        ("PATCH", f"/api/v1/members/{a_owner}", {"role": "member"}),
        ("DELETE", f"/api/v1/members/{a_owner}", None),
        ("DELETE", f"/api/v1/invitations/{invitation_id}", None),
    ):
        r = await gw.client.request(method, path, json=body, headers=gw.user(b))
        assert r.status_code == 404, (method, path, r.text)
    assert (await gw.post("/internal/api-keys/verify", {"key": key["key"]})).json()[
        "tenant_id"
    ] == a["tenant"]["id"]
    # the key is untouched
    assert (await gw.get("/api/v1/api-keys", as_=gw.user(a))).json()[0]["revoked_at"] is None
    # B forging a request body naming A's tenant changes nothing: the tenant comes from the identity
    r = await gw.post(
        "/api/v1/auth/switch-tenant", {"tenant_id": a["tenant"]["id"]}, as_=gw.user(b)
    )
    assert r.status_code == 404


async def test_audit_log_pages_newest_first(gw):
    owner = await gw.signup("owner@haneul.example")
    for _ in range(5):
        await gw.login("owner@haneul.example", "wrong password")
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await gw.get("/api/v1/audit-log", as_=gw.user(owner), **params)).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # five failed log-ins and the sign-up's log-in
    assert len(seen) == 6 and seen == sorted(seen, reverse=True)
    assert (await gw.get("/api/v1/audit-log", as_=gw.user(owner), cursor="abc")).status_code == 422


@pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
async def test_delete_tenant(gateway_for, db_backend):
    async with gateway_for(db_backend) as gw:
        owner = await gw.signup("owner@haneul.example", team="Haneul Studio")
        admin = await gw.invite_and_join(owner, "admin@haneul.example", role="admin")
        key = (
            await gw.post(
                "/api/v1/api-keys", {"name": "k", "scopes": ["images:read"]}, as_=gw.user(owner)
            )
        ).json()
        other = await gw.signup("other@beta.example", team="Beta")

        assert (
            await gw.client.request(
                "DELETE",
                "/api/v1/tenant",
                json={"confirm": "Haneul Studio"},
                headers=gw.user(admin),
            )
        ).status_code == 403
        r = await gw.client.request(
            "DELETE", "/api/v1/tenant", json={"confirm": "haneul"}, headers=gw.user(owner)
        )
        assert r.status_code == 422
        r = await gw.client.request(
            "DELETE", "/api/v1/tenant", json={"confirm": "Haneul Studio"}, headers=gw.user(owner)
        )
        assert r.status_code == 204, r.text

        deleted = await gw.events("tenant.deleted")
        assert len(deleted) == 1 and deleted[0]["tenantid"] == owner["tenant"]["id"]
        assert deleted[0]["data"]["reason"] == "owner_request"
        assert deleted[0]["data"]["deleted_by_user_id"] == owner["user"]["id"]
        assert [e["data"]["reason"] for e in await gw.events("apikey.revoked")] == [
            "tenant_deleted"
        ]
        # keys, sessions and access are gone
        assert (await gw.post("/internal/api-keys/verify", {"key": key["key"]})).status_code == 401
        for pair in (owner, admin):
            assert (
                await gw.post("/api/v1/auth/refresh", {"refresh_token": pair["refresh_token"]})
            ).status_code == 401
            assert (await gw.get("/api/v1/members", as_=gw.user(pair))).status_code == 403
        # the people remain, with no team; other tenants are untouched
        again = await gw.login("owner@haneul.example", PASSWORD)
        assert again.status_code == 200 and again.json()["tenant"] is None
        assert (await gw.get("/api/v1/me", as_=gw.user(again.json()))).json()["memberships"] == []
        assert (await gw.get("/api/v1/members", as_=gw.user(other))).status_code == 200
