"""Sign-up, verification, log-in, refresh rotation, log-out, tenant switch, password reset."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from pingvas_tenants.adapters.db import email_tokens, memberships, refresh_tokens, tenants, users
from pingvas_tenants.domain.tokens import digest

from pingvas_kit.problems import PROBLEM_JSON

from .conftest import PASSWORD, link_token

EMAIL = "jiwoo.kim@haneul.example"


@pytest.mark.parametrize("db_backend", ["sqlite", "postgres"], indirect=True)
async def test_signup_emits_events_and_verification_link_works_once(gateway_for, db_backend):
    async with gateway_for(db_backend) as gw:
        pair = await gw.signup(
            "Jiwoo.Kim@Haneul.example", team="하늘 스튜디오", name="김지우", verified=False
        )
        assert pair["token_type"] == "bearer" and pair["expires_in"] == 900
        assert pair["refresh_token"].startswith("pvr_") and len(pair["refresh_token"]) == 4 + 43
        assert pair["user"]["email"] == EMAIL and pair["user"]["email_verified"] is False
        assert pair["role"] == "owner" and pair["tenant"]["name"] == "하늘 스튜디오"
        tenant_id, user_id = pair["tenant"]["id"], pair["user"]["id"]

        claims = gw.claims(pair)
        assert set(claims) == set("iss aud sub tid rol prl evf sid uver jti iat exp".split())
        assert (claims["sub"], claims["tid"], claims["rol"], claims["prl"], claims["evf"]) == (
            user_id,
            tenant_id,
            ["owner"],
            [],
            False,
        )
        assert claims["exp"] - claims["iat"] == 900

        types = [e["type"].split(".", 2)[2] for e in await gw.events()]
        assert types == [
            "tenant.created.v1",
            "user.registered.v1",
            "member.joined.v1",
            "user.verification_requested.v1",
        ]
        assert all(e["tenantid"] == tenant_id for e in await gw.events())
        created = (await gw.events("tenant.created"))[0]["data"]
        assert (
            created["owner_user_id"] == user_id
            and created["slug"] == "team"
            and created["locale"] == "ko"
        )
        verification = (await gw.events("user.verification_requested"))[0]["data"]
        url = verification["verification_url"]
        assert url.startswith("http://127.0.0.1:8080/verify-email?token=")
        expires = datetime.fromisoformat(verification["expires_at"])
        assert timedelta(hours=47) < expires - datetime.now(UTC) <= timedelta(hours=48)

        # the token is stored hashed, never in the clear
        async with gw.db.sessionmaker() as session:
            stored = (await session.execute(sa.select(email_tokens.c.token_hash))).scalars().all()
        assert stored == [digest(link_token(url))]

        r = await gw.post("/api/v1/auth/verify-email", {"token": link_token(url)})
        assert r.status_code == 200 and r.json() == {"email_verified": True}
        again = await gw.post("/api/v1/auth/verify-email", {"token": link_token(url)})
        assert again.status_code == 400 and again.headers["content-type"].startswith(PROBLEM_JSON)

        login = await gw.login(EMAIL)
        assert login.status_code == 200
        assert gw.claims(login.json())["evf"] is True
        me = (await gw.get("/api/v1/me", as_=gw.user(login.json()))).json()
        assert me["user"]["email_verified"] is True
        assert me["memberships"] == [
            {"tenant_id": tenant_id, "tenant_name": "하늘 스튜디오", "role": "owner"}
        ]
        assert me["tenant"]["id"] == tenant_id and me["role"] == "owner"


async def count_rows(gw) -> dict[str, int]:
    async with gw.db.sessionmaker() as session:
        return {
            table.name: await session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in (users, tenants, memberships, email_tokens, refresh_tokens)
        }


async def test_signup_does_not_reveal_a_registered_email(gw):
    hashed: list[str] = []
    passwords = gw.service.app.state.tenants.passwords
    real_hash = passwords.hash
    passwords.hash = lambda password: hashed.append(password) or real_hash(password)

    def body(email: str, **extra: str) -> dict[str, str]:
        return {
            "email": email,
            "password": PASSWORD,
            "name": "Jiwoo Kim",
            "team_name": "Haneul Studio",
            "locale": "ko",
        } | extra

    new = await gw.post("/api/v1/auth/signup", body(EMAIL))
    after_new = await count_rows(gw)
    events_after_new = await gw.events()
    # the same address again (any case), with another password, name and team
    again = await gw.post(
        "/api/v1/auth/signup",
        body(EMAIL.upper(), password="another passphrase", name="X", team_name="Other"),
    )

    assert new.status_code == again.status_code == 202
    assert new.headers["content-type"] == again.headers["content-type"] == "application/json"
    assert new.content == again.content
    assert new.json()["status"] == "verification_sent" and new.json()["detail"]
    assert "access_token" not in new.text and "refresh_token" not in new.text
    # the same argon2 work both times, so the answer takes as long
    assert hashed == [PASSWORD, "another passphrase"]
    # the second time creates nothing and sends nothing
    assert after_new == {
        "users": 1,
        "tenants": 1,
        "memberships": 1,
        "email_tokens": 1,
        "refresh_tokens": 0,
    }
    assert await count_rows(gw) == after_new
    assert await gw.events() == events_after_new
    # the account keeps its password; the person logs in (unverified is fine)
    assert (await gw.login(EMAIL, "another passphrase")).status_code == 401
    assert (await gw.login(EMAIL)).status_code == 200


async def test_signup_rejects_bad_input_without_creating_anything(gw):
    await gw.signup(EMAIL)
    before, events_before = await count_rows(gw), len(await gw.events())
    for bad in (
        {"password": "short"},
        {"password": "aaaaaaaaaaaaaa"},
        {"email": "not-an-email"},
        {"locale": "fr"},
        {"team_name": "   "},
        {"email": EMAIL, "password": "short"},  # a registered address is checked the same way
    ):
        body = {
            "email": "new@haneul.example",
            "password": PASSWORD,
            "name": "N",
            "team_name": "T",
            "locale": "en",
        }
        r = await gw.post("/api/v1/auth/signup", body | bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["content-type"].startswith(PROBLEM_JSON)
        # the password is never echoed (the rule's code `password-too-short` says the word)
        assert PASSWORD not in r.text
        assert "short" not in r.text.replace("too-short", "").replace("too short", "")
    assert await count_rows(gw) == before
    assert len(await gw.events()) == events_before


async def test_requests_without_a_valid_identity_are_refused(gw):
    for headers in ({}, {"x-pingvas-identity": "nonsense"}):
        r = await gw.client.get("/api/v1/me", headers=headers)
        assert r.status_code == 401 and r.headers["content-type"].startswith(PROBLEM_JSON)
        r = await gw.client.post(
            "/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}, headers=headers
        )
        assert r.status_code == 401
    # anonymous reaches public routes only
    assert (await gw.get("/api/v1/me", as_=gw.anon())).status_code == 401
    assert (await gw.get("/api/v1/members", as_=gw.anon())).status_code == 401


async def test_login_failures_are_generic_and_audited(gw):
    owner = await gw.signup(EMAIL, verified=False)
    wrong = await gw.login(EMAIL, "wrong password!")
    unknown = await gw.login("nobody@haneul.example")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.headers["content-type"].startswith(PROBLEM_JSON)
    ok = await gw.login(EMAIL)
    assert ok.status_code == 200
    assert gw.claims(ok.json())["evf"] is False  # unverified may log in; render enforces evf

    log = (await gw.get("/api/v1/audit-log", as_=gw.user(owner))).json()
    actions = [(e["action"], (e["details"] or {}).get("reason")) for e in log["items"]]
    assert actions == [
        ("login.succeeded", None),
        ("login.failed", "wrong_password"),
        ("login.succeeded", None),  # gw.signup logs in after signing up
    ]
    assert log["items"][1]["ip"] == "203.0.113.7"
    assert "wrong password" not in str(log)


async def test_refresh_rotates_and_reuse_revokes_the_family(gw):
    first = await gw.signup(EMAIL)
    second = await gw.post("/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert gw.claims(second)["sid"] == gw.claims(first)["sid"]
    third = (
        await gw.post("/api/v1/auth/refresh", {"refresh_token": second["refresh_token"]})
    ).json()

    # someone replays the first token: the whole family dies, including the newest token
    replay = await gw.post("/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and replay.headers["content-type"].startswith(PROBLEM_JSON)
    newest = await gw.post("/api/v1/auth/refresh", {"refresh_token": third["refresh_token"]})
    assert newest.status_code == 401

    # another log-in is another family, unaffected
    other = (await gw.login(EMAIL)).json()
    assert gw.claims(other)["sid"] != gw.claims(first)["sid"]
    assert (
        await gw.post("/api/v1/auth/refresh", {"refresh_token": other["refresh_token"]})
    ).status_code == 200
    assert (
        await gw.post("/api/v1/auth/refresh", {"refresh_token": "pvr_unknown"})
    ).status_code == 401


async def test_logout_revokes_the_callers_session_only(gw):
    a = await gw.signup(EMAIL)
    b = (await gw.login(EMAIL)).json()
    r = await gw.post("/api/v1/auth/logout", as_=gw.user(a))
    assert r.status_code == 204
    assert (
        await gw.post("/api/v1/auth/refresh", {"refresh_token": a["refresh_token"]})
    ).status_code == 401
    b2 = await gw.post("/api/v1/auth/refresh", {"refresh_token": b["refresh_token"]})
    assert b2.status_code == 200
    # log-out with only the refresh token (access token expired: anonymous)
    r = await gw.post("/api/v1/auth/logout", {"refresh_token": b2.json()["refresh_token"]})
    assert r.status_code == 204
    assert (
        await gw.post("/api/v1/auth/refresh", {"refresh_token": b2.json()["refresh_token"]})
    ).status_code == 401


async def test_password_reset_is_single_use_expires_and_ends_sessions(gw):
    owner = await gw.signup(EMAIL)
    unknown = await gw.post("/api/v1/auth/password-reset", {"email": "nobody@haneul.example"})
    known = await gw.post("/api/v1/auth/password-reset", {"email": EMAIL})
    assert unknown.status_code == known.status_code == 202 and unknown.json() == known.json()
    requested = await gw.events("user.password_reset_requested")
    assert len(requested) == 1 and requested[0]["tenantid"] == owner["tenant"]["id"]
    url = requested[0]["data"]["reset_url"]
    assert url.startswith("http://127.0.0.1:8080/reset-password?token=")
    expires = datetime.fromisoformat(requested[0]["data"]["expires_at"])
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)
    token = link_token(url)

    weak = await gw.post(
        "/api/v1/auth/password-reset/confirm", {"token": token, "password": "short"}
    )
    assert weak.status_code == 422
    new_password = "a brand new passphrase"
    r = await gw.post(
        "/api/v1/auth/password-reset/confirm", {"token": token, "password": new_password}
    )
    assert r.status_code == 204, r.text
    again = await gw.post(
        "/api/v1/auth/password-reset/confirm", {"token": token, "password": "another passphrase"}
    )
    assert again.status_code == 400

    assert (await gw.login(EMAIL)).status_code == 401
    assert (await gw.login(EMAIL, new_password)).status_code == 200
    assert (
        await gw.post("/api/v1/auth/refresh", {"refresh_token": owner["refresh_token"]})
    ).status_code == 401

    # an expired link is refused
    await gw.post("/api/v1/auth/password-reset", {"email": EMAIL})
    token = link_token((await gw.events("user.password_reset_requested"))[-1]["data"]["reset_url"])
    await gw.execute(
        email_tokens.update()
        .where(email_tokens.c.token_hash == digest(token))
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    late = await gw.post(
        "/api/v1/auth/password-reset/confirm", {"token": token, "password": "too late passphrase"}
    )
    assert late.status_code == 400
    actions = [
        e["action"]
        for e in (
            await gw.get(
                "/api/v1/audit-log", as_=gw.user((await gw.login(EMAIL, new_password)).json())
            )
        ).json()["items"]
    ]
    assert "password.reset" in actions


async def test_switch_tenant_needs_membership(gw):
    owner = await gw.signup(EMAIL, team="Alpha")
    other = await gw.signup("other@beta.example", team="Beta")
    member = await gw.invite_and_join(other, EMAIL.replace("jiwoo", "x"))  # someone else joins Beta
    assert member["tenant"]["id"] == other["tenant"]["id"]

    refused = await gw.post(
        "/api/v1/auth/switch-tenant", {"tenant_id": other["tenant"]["id"]}, as_=gw.user(owner)
    )
    assert refused.status_code == 404

    # Beta invites the Alpha owner, who accepts while logged in, then switches back and forth
    await gw.post("/api/v1/invitations", {"email": EMAIL, "role": "admin"}, as_=gw.user(other))
    token = link_token((await gw.events("member.invited"))[-1]["data"]["accept_url"])
    joined = await gw.post(f"/api/v1/invitations/{token}/accept", as_=gw.user(owner))
    assert joined.status_code == 200 and joined.json()["role"] == "admin"
    switched = await gw.post(
        "/api/v1/auth/switch-tenant",
        {"tenant_id": owner["tenant"]["id"]},
        as_=gw.user(joined.json()),
    )
    assert switched.status_code == 200
    assert gw.claims(switched.json())["tid"] == owner["tenant"]["id"]
    assert gw.claims(switched.json())["rol"] == ["owner"]
    me = (await gw.get("/api/v1/me", as_=gw.user(switched.json()))).json()
    assert {m["tenant_name"]: m["role"] for m in me["memberships"]} == {
        "Alpha": "owner",
        "Beta": "admin",
    }
    # a log-in may name the tenant
    beta = (await gw.login(EMAIL, tenant_id=other["tenant"]["id"])).json()
    assert gw.claims(beta)["tid"] == other["tenant"]["id"]
