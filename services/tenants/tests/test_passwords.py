"""One password rule (domain/passwords.py), served to the SPA and applied by sign-up,
invitations, reset and change alike; each refusal names its rule with a stable `code`."""

from __future__ import annotations

import pytest
from pingvas_tenants.domain.passwords import MAX_LENGTH, MIN_LENGTH, common_passwords

from pingvas_kit.problems import PROBLEM_JSON

PASSWORD = "correct horse battery"
NEW_PASSWORD = "lantern over quiet water"


def assert_refused(r, code: str, field: str = "password") -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON)
    body = r.json()
    assert body["type"].endswith(f"/{code}") and body["code"] == code
    assert [(e["field"], e["code"]) for e in body["errors"]] == [(field, code)]


def test_the_bundled_list_holds_thousands_of_common_passwords():
    words = common_passwords()
    assert len(words) > 5000
    assert {"password", "qwerty", "iloveyou", "1q2w3e4r"} <= words


async def test_the_rule_is_served_to_anyone(gw):
    r = await gw.client.get("/api/v1/auth/password-policy", headers=gw.anon())
    assert r.status_code == 200, r.text
    assert r.json() == {
        "min_length": MIN_LENGTH,
        "max_length": MAX_LENGTH,
        "refuses_common": True,
        "refuses_personal": True,
    }


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short1!", "password-too-short"),
        ("x" * (MAX_LENGTH - 5) + "yzzy!1", "password-too-long"),
        ("password123!", "password-too-weak"),
        ("Dragon2024!!", "password-too-weak"),
        ("qwertyqwerty", "password-too-weak"),
        ("jiwoo.kim rocks 24", "password-contains-personal"),
        ("안녕하세요 저는 김지우입니다", "password-contains-personal"),
    ],
)
async def test_sign_up_refuses_a_password_by_the_rule_it_breaks(gw, password, code):
    r = await gw.post(
        "/api/v1/auth/signup",
        {
            "email": "jiwoo.kim@haneul.example",
            "password": password,
            "name": "김지우",
            "team_name": "Haneul",
        },
    )
    assert_refused(r, code)
    assert await gw.events("user.registered") == []


async def test_a_reset_refuses_a_weak_password_and_the_link_still_works(gw):
    await gw.signup("minsu@haneul.example", name="Minsu Lee")
    await gw.post("/api/v1/auth/password-reset", {"email": "minsu@haneul.example"})
    url = (await gw.events("user.password_reset_requested"))[-1]["data"]["reset_url"]
    token = url.split("token=", 1)[1]
    confirm = "/api/v1/auth/password-reset/confirm"
    assert_refused(
        await gw.post(confirm, {"token": token, "password": "iloveyou2"}), "password-too-short"
    )
    assert_refused(
        await gw.post(confirm, {"token": token, "password": "iloveyou2024"}), "password-too-weak"
    )
    assert_refused(
        await gw.post(confirm, {"token": token, "password": "minsu loves tea"}),
        "password-contains-personal",
    )
    r = await gw.post(confirm, {"token": token, "password": NEW_PASSWORD})
    assert r.status_code == 204, r.text
    assert (await gw.login("minsu@haneul.example", NEW_PASSWORD)).status_code == 200
    changed = await gw.events("user.password_changed")
    assert [(e["data"]["email"], e["data"]["via"]) for e in changed] == [
        ("minsu@haneul.example", "reset")
    ]


async def test_a_wrong_password_at_log_in_is_401_wrong_credentials(gw):
    await gw.signup("ara@haneul.example")
    r = await gw.login("ara@haneul.example", "not the password")
    assert r.status_code == 401 and r.json()["code"] == "wrong-credentials"
    assert r.json()["type"].endswith("/wrong-credentials")
    r = await gw.login("nobody@haneul.example", "not the password")
    assert r.status_code == 401 and r.json()["code"] == "wrong-credentials"


async def test_changing_the_password_ends_the_other_sessions_and_tells_the_person(gw):
    first = await gw.signup("ara@haneul.example", name="Ara Choi")
    other_device = (await gw.login("ara@haneul.example")).json()
    change = "/api/v1/me/password"
    me = gw.user(first)

    r = await gw.post(
        change, {"current_password": "wrong one!", "new_password": NEW_PASSWORD}, as_=me
    )
    assert_refused(r, "wrong-current-password", field="current_password")
    r = await gw.post(
        change, {"current_password": PASSWORD, "new_password": "sunshine1234"}, as_=me
    )
    assert_refused(r, "password-too-weak", field="password")
    assert await gw.events("user.password_changed") == []

    r = await gw.post(change, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, as_=me)
    assert r.status_code == 200, r.text
    renewed = r.json()
    assert renewed["user"]["email"] == "ara@haneul.example"
    assert gw.claims(renewed)["uver"] > gw.claims(first)["uver"]
    # the caller goes on in the new session; every older one (the other device's) has ended
    assert (
        await gw.post("/api/v1/auth/refresh", {"refresh_token": renewed["refresh_token"]})
    ).status_code == 200
    for old in (first, other_device):
        r = await gw.post("/api/v1/auth/refresh", {"refresh_token": old["refresh_token"]})
        assert r.status_code == 401
    assert (await gw.login("ara@haneul.example", PASSWORD)).status_code == 401
    assert (await gw.login("ara@haneul.example", NEW_PASSWORD)).status_code == 200
    changed = [e["data"] for e in await gw.events("user.password_changed")]
    assert [(d["email"], d["via"], d["locale"]) for d in changed] == [
        ("ara@haneul.example", "change", "ko")
    ]
    assert NEW_PASSWORD not in str(changed) and PASSWORD not in str(changed)
    audit = (await gw.get("/api/v1/audit-log", as_=gw.user(renewed))).json()
    assert "password.changed" in {entry["action"] for entry in audit["items"]}


async def test_an_invitation_refuses_a_password_with_the_invited_address(gw):
    owner = await gw.signup("owner@haneul.example")
    r = await gw.post(
        "/api/v1/invitations", {"email": "alex.park@partner.example"}, as_=gw.user(owner)
    )
    assert r.status_code == 201, r.text
    token = (await gw.events("member.invited"))[-1]["data"]["accept_url"].rsplit("/", 1)[1]
    accept = f"/api/v1/invitations/{token}/accept"
    r = await gw.post(accept, {"name": "Alex", "password": "alex.park forever"})
    assert_refused(r, "password-contains-personal")
    r = await gw.post(accept, {"name": "Alex", "password": "letmein2024"})
    assert_refused(r, "password-too-weak")
    r = await gw.post(accept, {"name": "Alex", "password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
