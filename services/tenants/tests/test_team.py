"""Members, roles and invitations."""

from datetime import UTC, datetime, timedelta

from pingvas_tenants.adapters.db import invitations

from pingvas_contracts import envelope_of, example
from pingvas_contracts.events.render import ImageDeleted
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


async def test_inviting_an_address_again_renews_its_open_invitation(gw):
    owner = await gw.signup(OWNER)
    first = await gw.post(
        "/api/v1/invitations", {"email": "sora@haneul.example"}, as_=gw.user(owner)
    )
    old = link_token((await gw.events("member.invited"))[-1]["data"]["accept_url"])
    again = await gw.post(
        "/api/v1/invitations",
        {"email": "Sora@Haneul.example", "role": "admin"},
        as_=gw.user(owner),
    )
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]

    # one invitation listed, with the role asked last; one mail per request, a new link
    listed = (await gw.get("/api/v1/invitations", as_=gw.user(owner))).json()
    assert [(i["email"], i["role"]) for i in listed] == [("sora@haneul.example", "admin")]
    mails = await gw.events("member.invited")
    assert len(mails) == 2 and mails[-1]["data"]["invitation_id"] == first.json()["id"]
    new = link_token(mails[-1]["data"]["accept_url"])
    assert new != old
    assert (await gw.get(f"/api/v1/invitations/{old}", as_=gw.anon())).status_code == 404
    preview = (await gw.get(f"/api/v1/invitations/{new}", as_=gw.anon())).json()
    assert preview["role"] == "admin" and preview["expired"] is False

    entries = (await gw.get("/api/v1/audit-log", as_=gw.user(owner))).json()["items"]
    assert [(e["action"], e["details"]["email"]) for e in entries[:2]] == [
        ("invitation.renewed", "sora@haneul.example"),
        ("invitation.sent", "sora@haneul.example"),
    ]


async def test_resending_an_invitation_mails_a_new_link_and_renews_an_expired_one(gw):
    owner = await gw.signup(OWNER)
    admin = await gw.invite_and_join(owner, "admin@haneul.example", role="admin")
    r = await gw.post("/api/v1/invitations", {"email": "late@haneul.example"}, as_=gw.user(owner))
    invitation_id = r.json()["id"]
    old = link_token((await gw.events("member.invited"))[-1]["data"]["accept_url"])
    await gw.execute(
        invitations.update()
        .where(invitations.c.id == invitation_id)
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    assert (await gw.get("/api/v1/invitations", as_=gw.user(owner))).json()[0]["expired"] is True

    r = await gw.post(f"/api/v1/invitations/{invitation_id}/resend", None, as_=gw.user(admin))
    assert r.status_code == 200, r.text
    assert r.json()["id"] == invitation_id and r.json()["expired"] is False
    mail = (await gw.events("member.invited"))[-1]["data"]
    assert mail["invitation_id"] == invitation_id
    assert mail["invited_by_user_id"] == admin["user"]["id"]
    new = link_token(mail["accept_url"])
    assert (await gw.get(f"/api/v1/invitations/{old}", as_=gw.anon())).status_code == 404
    r = await gw.post(f"/api/v1/invitations/{new}/accept", {"name": "Late", "password": PASSWORD})
    assert r.status_code == 200

    # accepted: nothing to resend or revoke any more
    for r in (
        await gw.post(f"/api/v1/invitations/{invitation_id}/resend", None, as_=gw.user(owner)),
        await gw.client.delete(f"/api/v1/invitations/{invitation_id}", headers=gw.user(owner)),
    ):
        assert r.status_code == 404 and r.json()["code"] == "invitation-not-pending"

    # an admin cannot resend an owner's invitation
    r = await gw.post(
        "/api/v1/invitations", {"email": "co@haneul.example", "role": "owner"}, as_=gw.user(owner)
    )
    r = await gw.post(f"/api/v1/invitations/{r.json()['id']}/resend", None, as_=gw.user(admin))
    assert r.status_code == 403

    actions = [
        e["action"] for e in (await gw.get("/api/v1/audit-log", as_=gw.user(owner))).json()["items"]
    ]
    assert "invitation.renewed" in actions


async def test_a_revoked_invitation_is_audited_with_its_address(gw):
    owner = await gw.signup(OWNER)
    r = await gw.post("/api/v1/invitations", {"email": "gone@haneul.example"}, as_=gw.user(owner))
    invitation_id = r.json()["id"]
    r = await gw.client.delete(f"/api/v1/invitations/{invitation_id}", headers=gw.user(owner))
    assert r.status_code == 204
    assert (await gw.get("/api/v1/invitations", as_=gw.user(owner))).json() == []
    entry = (await gw.get("/api/v1/audit-log", as_=gw.user(owner))).json()["items"][0]
    assert entry["action"] == "invitation.revoked"
    assert entry["details"]["email"] == "gone@haneul.example"
    # inviting the address again makes a new invitation: the revoked one stays revoked
    again = await gw.post(
        "/api/v1/invitations", {"email": "gone@haneul.example"}, as_=gw.user(owner)
    )
    assert again.status_code == 201 and again.json()["id"] != invitation_id


async def test_admins_set_whether_members_may_delete_each_others_images(gw):
    owner = await gw.signup(OWNER)
    admin = await gw.invite_and_join(owner, "admin@haneul.example", role="admin")
    member = await gw.invite_and_join(owner, "member@haneul.example", role="member")
    path = "/api/v1/tenant/settings"
    # the default: a member deletes only their own; every member may read it
    r = await gw.get(path, as_=gw.user(member))
    assert r.status_code == 200 and r.json() == {"member_image_deletion": "own"}

    r = await gw.client.patch(path, json={"member_image_deletion": "any"}, headers=gw.user(member))
    assert r.status_code == 403
    r = await gw.client.patch(path, json={"member_image_deletion": "all"}, headers=gw.user(admin))
    assert r.status_code == 422
    r = await gw.client.patch(path, json={"member_image_deletion": "any"}, headers=gw.user(admin))
    assert r.status_code == 200 and r.json() == {"member_image_deletion": "any"}
    assert (await gw.get(path, as_=gw.user(member))).json() == {"member_image_deletion": "any"}
    # the same value again: no second event
    await gw.client.patch(path, json={"member_image_deletion": "any"}, headers=gw.user(owner))

    changed = await gw.events("tenant.settings_changed")
    assert len(changed) == 1 and changed[0]["tenantid"] == owner["tenant"]["id"]
    assert changed[0]["data"]["member_image_deletion"] == "any"
    assert changed[0]["data"]["changed_by_user_id"] == admin["user"]["id"]
    entry = (await gw.get("/api/v1/audit-log", as_=gw.user(owner))).json()["items"][0]
    assert entry["action"] == "tenant.settings_changed"
    assert entry["actor_id"] == admin["user"]["id"]
    assert entry["details"] == {"member_image_deletion": "any"}


async def test_an_image_deletion_is_in_the_team_audit_log(gw):
    owner = await gw.signup(OWNER)
    member = await gw.invite_and_join(owner, "member@haneul.example", role="member")
    tenant_id = owner["tenant"]["id"]
    deleted = example(ImageDeleted, deleted_by_user_id=member["user"]["id"])
    await gw.service.runtime.consumer(envelope_of(deleted, tenant_id=tenant_id))
    # redelivered: still one entry
    envelope = envelope_of(deleted, tenant_id=tenant_id)
    await gw.service.runtime.consumer(envelope)
    await gw.service.runtime.consumer(envelope)

    items = (await gw.get("/api/v1/audit-log", as_=gw.user(owner))).json()["items"]
    entries = [e for e in items if e["action"] == "image.deleted"]
    assert len(entries) == 2  # two distinct events, the redelivery counted once
    assert entries[0]["actor_id"] == member["user"]["id"] and entries[0]["actor_kind"] == "user"
    assert entries[0]["target_type"] == "image" and entries[0]["target_id"] == deleted.image_id


async def test_the_audit_log_names_people_and_filters_by_person_action_and_time(gw):
    owner = await gw.signup(OWNER, name="김민지")
    admin = await gw.invite_and_join(owner, "admin@haneul.example", role="admin", name="Jisoo")
    await gw.post("/api/v1/invitations", {"email": "a@b.example"}, as_=gw.user(owner))
    await gw.post("/api/v1/invitations", {"email": "c@d.example"}, as_=gw.user(admin))
    await gw.client.patch(
        f"/api/v1/members/{admin['user']['id']}", json={"role": "member"}, headers=gw.user(owner)
    )
    log = "/api/v1/audit-log"

    def said(page):
        return [
            (e["action"], e["actor_name"], e["target_name"] or (e["details"] or {}).get("email"))
            for e in page.json()["items"]
        ]

    r = await gw.get(log, as_=gw.user(owner), actor_id=owner["user"]["id"], action="invitation")
    assert said(r) == [
        ("invitation.sent", "김민지", "a@b.example"),
        ("invitation.sent", "김민지", "admin@haneul.example"),
    ]
    r = await gw.get(log, as_=gw.user(owner), action="member.role_changed")
    assert said(r) == [("member.role_changed", "김민지", "Jisoo")]
    assert r.json()["items"][0]["actor_email"] == OWNER
    r = await gw.get(
        log, as_=gw.user(owner), action="invitation.sent", actor_id=admin["user"]["id"]
    )
    assert said(r) == [("invitation.sent", "Jisoo", "c@d.example")]

    # by time: nothing before the team existed or from tomorrow on
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (await gw.get(log, as_=gw.user(owner), **{"from": tomorrow})).json()["items"] == []
    everything = (await gw.get(log, as_=gw.user(owner), to=tomorrow)).json()["items"]
    assert len(everything) >= 5
    # pages keep the filter
    first = await gw.get(log, as_=gw.user(owner), action="invitation", limit=1)
    cursor = first.json()["next_cursor"]
    second = await gw.get(log, as_=gw.user(owner), action="invitation", limit=1, cursor=cursor)
    assert [e["action"] for e in second.json()["items"]] == ["invitation.sent"]
    assert second.json()["items"][0]["id"] < first.json()["items"][0]["id"]

    # bad filters are refused; another team's owner sees none of this team's entries
    assert (await gw.get(log, as_=gw.user(owner), action="DROP TABLE")).status_code == 422
    assert (await gw.get(log, as_=gw.user(owner), to="yesterday")).status_code == 422
    other = await gw.signup("owner@other.example", team="Other")
    r = await gw.get(log, as_=gw.user(other), actor_id=owner["user"]["id"])
    assert r.status_code == 200 and r.json()["items"] == []
