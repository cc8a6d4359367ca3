"""Members, roles and invitations."""

from datetime import UTC, datetime, timedelta

from pingvas_tenants.adapters.db import invitations

from pingvas_kit.problems import PROBLEM_JSON

from .conftest import PASSWORD, link_token

OWNER = "owner@haneul.example"


async def test_roles_member_cannot_invite_admin_cannot_make_owner_last_owner_stays(gw):
    owner = await gw.signup(OWNER)
    admin = await gw.invite_and_join(owner, "admin@haneul.example", role="admin")
    member = await gw.invite_and_join(owner, "member@haneul.example", role="member")
    owner_id, admin_id, member_id = (p["user"]["id"] for p in (owner, admin, member))

    listed = (await gw.get("/api/v1/members", as_=gw.user(member))).json()
    assert [(m["email"], m["role"]) for m in listed] == [
        (OWNER, "owner"),
        ("admin@haneul.example", "admin"),
        ("member@haneul.example", "member"),
    ]

    # a member cannot invite, list invitations, change roles or see the audit log
    r = await gw.post("/api/v1/invitations", {"email": "x@haneul.example"}, as_=gw.user(member))
    assert r.status_code == 403 and r.headers["content-type"].startswith(PROBLEM_JSON)
    assert (await gw.get("/api/v1/invitations", as_=gw.user(member))).status_code == 403
    assert (await gw.get("/api/v1/audit-log", as_=gw.user(member))).status_code == 403
    r = await gw.client.patch(
        f"/api/v1/members/{admin_id}", json={"role": "member"}, headers=gw.user(member)
    )
    assert r.status_code == 403

    # an admin manages members but cannot grant or take away ownership
    r = await gw.client.patch(
        f"/api/v1/members/{member_id}", json={"role": "owner"}, headers=gw.user(admin)
    )
    assert r.status_code == 403
    r = await gw.client.patch(
        f"/api/v1/members/{owner_id}", json={"role": "member"}, headers=gw.user(admin)
    )
    assert r.status_code == 403
    r = await gw.post(
        "/api/v1/invitations", {"email": "o2@haneul.example", "role": "owner"}, as_=gw.user(admin)
    )
    assert r.status_code == 403
    r = await gw.client.patch(
        f"/api/v1/members/{member_id}", json={"role": "admin"}, headers=gw.user(admin)
    )
    assert r.status_code == 200 and r.json()["role"] == "admin"

    # the last owner can neither be demoted nor leave
    r = await gw.client.patch(
        f"/api/v1/members/{owner_id}", json={"role": "admin"}, headers=gw.user(owner)
    )
    assert r.status_code == 409 and r.headers["content-type"].startswith(PROBLEM_JSON)
    assert (
        await gw.client.delete(f"/api/v1/members/{owner_id}", headers=gw.user(owner))
    ).status_code == 409
    # with a second owner, the first may step down
    r = await gw.client.patch(
        f"/api/v1/members/{admin_id}", json={"role": "owner"}, headers=gw.user(owner)
    )
    assert r.status_code == 200
    r = await gw.client.patch(
        f"/api/v1/members/{owner_id}", json={"role": "admin"}, headers=gw.user(owner)
    )
    assert r.status_code == 200

    # the live role counts, not a stale token: the old owner token can no longer make owners
    r = await gw.client.patch(
        f"/api/v1/members/{member_id}", json={"role": "owner"}, headers=gw.user(owner)
    )
    assert r.status_code == 403

    # unknown member: 404
    r = await gw.client.patch(
        "/api/v1/members/nobody", json={"role": "member"}, headers=gw.user(admin)
    )
    assert r.status_code == 404

    log = (await gw.get("/api/v1/audit-log", as_=gw.user(admin))).json()["items"]
    changes = [(e["target_id"], e["details"]) for e in log if e["action"] == "member.role_changed"]
    assert changes[0] == (owner_id, {"from": "owner", "to": "admin"})
    assert len(changes) == 3


async def test_removing_and_leaving(gw):
    owner = await gw.signup(OWNER)
    a = await gw.invite_and_join(owner, "a@haneul.example")
    b = await gw.invite_and_join(owner, "b@haneul.example")
    # a member cannot remove another member, but may leave
    assert (
        await gw.client.delete(f"/api/v1/members/{b['user']['id']}", headers=gw.user(a))
    ).status_code == 403
    assert (
        await gw.client.delete(f"/api/v1/members/{a['user']['id']}", headers=gw.user(a))
    ).status_code == 204
    assert (
        await gw.client.delete(f"/api/v1/members/{b['user']['id']}", headers=gw.user(owner))
    ).status_code == 204

    removed = [
        (e["data"]["user_id"], e["data"]["reason"]) for e in await gw.events("member.removed")
    ]
    assert removed == [(a["user"]["id"], "left"), (b["user"]["id"], "removed")]
    # their sessions in the team ended, and they are no longer let in with old tokens
    assert (
        await gw.post("/api/v1/auth/refresh", {"refresh_token": b["refresh_token"]})
    ).status_code == 401
    assert (await gw.get("/api/v1/members", as_=gw.user(b))).status_code == 403
    members = (await gw.get("/api/v1/members", as_=gw.user(owner))).json()
    assert [m["email"] for m in members] == [OWNER]
    actions = [
        e["action"] for e in (await gw.get("/api/v1/audit-log", as_=gw.user(owner))).json()["items"]
    ]
    assert actions[:2] == ["member.removed", "member.left"]


async def test_invitation_for_a_new_user(gw):
    owner = await gw.signup(OWNER, team="Haneul Studio")
    r = await gw.post(
        "/api/v1/invitations",
        {"email": "Alex@Partner.example", "role": "admin"},
        as_=gw.user(owner),
    )
    assert r.status_code == 201, r.text
    invited = (await gw.events("member.invited"))[0]
    assert invited["tenantid"] == owner["tenant"]["id"]
    data = invited["data"]
    assert data["email"] == "alex@partner.example" and data["role"] == "admin"
    assert (
        data["tenant_name"] == "Haneul Studio" and data["invited_by_user_id"] == owner["user"]["id"]
    )
    assert data["accept_url"].startswith("http://127.0.0.1:8080/invitations/")
    assert (
        timedelta(days=6.9)
        < datetime.fromisoformat(data["expires_at"]) - datetime.now(UTC)
        <= timedelta(days=7)
    )
    token = link_token(data["accept_url"])

    listed = (await gw.get("/api/v1/invitations", as_=gw.user(owner))).json()
    assert [(i["email"], i["role"], i["expired"]) for i in listed] == [
        ("alex@partner.example", "admin", False)
    ]
    assert token not in str(listed)

    preview = await gw.get(f"/api/v1/invitations/{token}", as_=gw.anon())
    assert preview.json() == {
        "tenant_name": "Haneul Studio",
        "email": "alex@partner.example",
        "role": "admin",
        "expired": False,
        "accepted": False,
    }
    assert (await gw.get("/api/v1/invitations/not-a-token", as_=gw.anon())).status_code == 404

    # anonymous acceptance needs a name and a good password
    assert (await gw.post(f"/api/v1/invitations/{token}/accept", {})).status_code == 422
    weak = await gw.post(
        f"/api/v1/invitations/{token}/accept", {"name": "Alex", "password": "short"}
    )
    assert weak.status_code == 422
    r = await gw.post(
        f"/api/v1/invitations/{token}/accept",
        {"name": "Alex Park", "password": PASSWORD, "locale": "en"},
    )
    assert r.status_code == 200, r.text
    pair = r.json()
    assert pair["tenant"]["id"] == owner["tenant"]["id"] and pair["role"] == "admin"
    assert pair["user"]["email_verified"] is True  # the link came by mail
    assert gw.claims(pair)["rol"] == ["admin"]

    registered = (await gw.events("user.registered"))[-1]["data"]
    assert registered["via"] == "invitation" and registered["email"] == "alex@partner.example"
    joined = (await gw.events("member.joined"))[-1]["data"]
    assert joined["invitation_id"] == data["invitation_id"] and joined["role"] == "admin"

    # single use
    assert (
        await gw.post(f"/api/v1/invitations/{token}/accept", {"name": "A", "password": PASSWORD})
    ).status_code == 410
    assert (await gw.get(f"/api/v1/invitations/{token}", as_=gw.anon())).json()["accepted"] is True
    assert (await gw.get("/api/v1/invitations", as_=gw.user(owner))).json() == []
    actions = [
        e["action"] for e in (await gw.get("/api/v1/audit-log", as_=gw.user(owner))).json()["items"]
    ]
    assert actions[:2] == ["invitation.accepted", "invitation.sent"]


async def test_invitation_for_an_existing_user(gw):
    owner = await gw.signup(OWNER, team="Haneul")
    guest = await gw.signup("guest@other.example", team="Other")
    bystander = await gw.signup("bystander@other.example", team="Third")
    assert (
        await gw.post("/api/v1/invitations", {"email": OWNER}, as_=gw.user(owner))
    ).status_code == 409  # already a member

    await gw.post("/api/v1/invitations", {"email": "guest@other.example"}, as_=gw.user(owner))
    token = link_token((await gw.events("member.invited"))[-1]["data"]["accept_url"])
    # an account exists: anonymous sign-up is refused; another person cannot take it
    r = await gw.post(f"/api/v1/invitations/{token}/accept", {"name": "G", "password": PASSWORD})
    assert r.status_code == 409
    assert (
        await gw.post(f"/api/v1/invitations/{token}/accept", as_=gw.user(bystander))
    ).status_code == 403

    r = await gw.post(f"/api/v1/invitations/{token}/accept", as_=gw.user(guest))
    assert r.status_code == 200, r.text
    assert r.json()["tenant"]["name"] == "Haneul" and r.json()["role"] == "member"
    me = (await gw.get("/api/v1/me", as_=gw.user(r.json()))).json()
    assert {m["tenant_name"] for m in me["memberships"]} == {"Haneul", "Other"}
    assert me["tenant"]["name"] == "Haneul"


async def test_expired_and_revoked_invitations(gw):
    owner = await gw.signup(OWNER)
    await gw.post("/api/v1/invitations", {"email": "late@haneul.example"}, as_=gw.user(owner))
    await gw.post("/api/v1/invitations", {"email": "revoked@haneul.example"}, as_=gw.user(owner))
    late, revoked = (link_token(e["data"]["accept_url"]) for e in await gw.events("member.invited"))
    await gw.execute(
        invitations.update()
        .where(invitations.c.email == "late@haneul.example")
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    assert (await gw.get(f"/api/v1/invitations/{late}", as_=gw.anon())).json()["expired"] is True
    r = await gw.post(f"/api/v1/invitations/{late}/accept", {"name": "L", "password": PASSWORD})
    assert r.status_code == 410

    listed = (await gw.get("/api/v1/invitations", as_=gw.user(owner))).json()
    revoked_id = next(i["id"] for i in listed if i["email"] == "revoked@haneul.example")
    assert (
        await gw.client.delete(f"/api/v1/invitations/{revoked_id}", headers=gw.user(owner))
    ).status_code == 204
    r = await gw.post(f"/api/v1/invitations/{revoked}/accept", {"name": "R", "password": PASSWORD})
    assert r.status_code == 404


async def test_invitation_role_is_validated(gw):
    owner = await gw.signup(OWNER)
    r = await gw.post(
        "/api/v1/invitations", {"email": "x@haneul.example", "role": "emperor"}, as_=gw.user(owner)
    )
    assert r.status_code == 422
    r = await gw.post(
        "/api/v1/invitations", {"email": "x@haneul.example", "role": "admin"}, as_=gw.user(owner)
    )
    assert r.status_code == 201
