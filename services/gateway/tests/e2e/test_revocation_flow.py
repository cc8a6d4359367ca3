"""Revocation takes effect at once (issue 13), on the real stack: `pingvas-dev up --only
gateway,tenants` as a subprocess, with the gateway's default cache times.

A member's removal refuses their token at once; the owner's password reset with
`revoke_api_keys` refuses the owner's old access token and the team's API key within
seconds; the team's deletion refuses the owner's new token at once."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from pingvas_kit.dev.stack import PASSWORD, Stack, Team, running_stack

pytestmark = [pytest.mark.timeout(300)]

INVITED = "pingvas.tenants.member.invited.v1"
RESET = "pingvas.tenants.user.password_reset_requested.v1"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("revocation-e2e"), ["--only", "gateway,tenants", "--no-workers"]
    ) as stack:
        yield stack


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _revoked(response: httpx.Response) -> bool:
    return response.status_code == 401 and response.json().get("code") == "session_revoked"


def _within(seconds: float, call, ok) -> httpx.Response:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while True:
        response = call()
        if ok(response) or time.monotonic() > deadline:
            return response
        time.sleep(0.25)


def test_removal_reset_and_deletion_end_sessions_and_keys(stack: Stack) -> None:
    owner = Team(stack, "owner")
    http = owner.http
    assert http.get("/me").status_code == 200
    key = http.post("/api-keys", json={"name": "ci", "scopes": ["images:read"]})
    assert key.status_code == 201, key.text
    as_key = _bearer(key.json()["key"])
    # a key is let through: tenants itself then says /me is for people (403), not 401
    assert http.get("/me", headers=as_key).status_code == 403

    # a member joins, then is removed: their token stops at once
    member_email = f"member-{uuid.uuid4().hex[:8]}@example.com"
    invited = http.post("/invitations", json={"email": member_email, "role": "member"})
    assert invited.status_code == 201, invited.text
    accept = stack.outbox_link(INVITED, "accept_url", member_email)
    joined = httpx.post(
        f"{stack.url}/api/v1/invitations/{accept.rsplit('/', 1)[1]}/accept",
        json={"name": "Alex", "password": PASSWORD},
    )
    assert joined.status_code == 200, joined.text
    member_token = joined.json()["access_token"]
    assert http.get("/members", headers=_bearer(member_token)).status_code == 200
    removed = http.delete(f"/members/{joined.json()['user']['id']}")
    assert removed.status_code == 204, removed.text
    assert _revoked(http.get("/members", headers=_bearer(member_token)))

    # the owner resets the password and ends the team's keys: the old token and the key stop
    # within the gateway's cache time (5 s)
    old = http.headers["Authorization"]
    assert (
        httpx.post(
            f"{stack.url}/api/v1/auth/password-reset", json={"email": owner.email}
        ).status_code
        == 202
    )
    link = stack.outbox_link(RESET, "reset_url", owner.email)
    confirmed = httpx.post(
        f"{stack.url}/api/v1/auth/password-reset/confirm",
        json={
            "token": parse_qs(urlsplit(link).query)["token"][0],
            "password": NEW_PASSWORD,
            "revoke_api_keys": True,
        },
    )
    assert confirmed.status_code == 204, confirmed.text
    start = time.monotonic()
    refused = _within(10, lambda: http.get("/me", headers={"Authorization": old}), _revoked)
    assert _revoked(refused), refused.text
    assert time.monotonic() - start < 7
    key_refused = _within(
        10, lambda: http.get("/me", headers=as_key), lambda r: r.status_code == 401
    )
    assert key_refused.status_code == 401, key_refused.text
    assert time.monotonic() - start < 7

    # logged in again: the new token holds, and the audit log says what the reset did
    login = httpx.post(
        f"{stack.url}/api/v1/auth/login", json={"email": owner.email, "password": NEW_PASSWORD}
    )
    assert login.status_code == 200, login.text
    fresh = _bearer(login.json()["access_token"])
    actions = [e["action"] for e in http.get("/audit-log", headers=fresh).json()["items"]]
    assert "apikey.revoked" in actions and "password.reset" in actions

    # the team is deleted: the owner's token stops at once
    team = http.get("/me", headers=fresh).json()["tenant"]["name"]
    deleted = http.request("DELETE", "/tenant", json={"confirm": team}, headers=fresh)
    assert deleted.status_code == 204, deleted.text
    assert _revoked(http.get("/members", headers=fresh))
