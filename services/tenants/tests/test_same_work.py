"""Sign-up and password reset answer the same, after the same work, for a known and an
unknown address: the password is hashed either way, and nothing that depends on the address
(its look-up, a new account, a link, a mail) runs before the answer has been sent. The
timing itself is measured by bench/auth_timing.py."""

from __future__ import annotations

import httpx
import pytest
from pingvas_tenants.adapters import repository as repo

from .conftest import PASSWORD

KNOWN = "known@haneul.example"


class Recorder:
    """Wraps the app: notes when the answer's body went out, and the calls made."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app
        self.log: list[str] = []

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        async def noting(message) -> None:  # noqa: ANN001
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.log.append("answered")

        await self.app(scope, receive, noting)


@pytest.fixture
async def recorded(gw, monkeypatch):
    await gw.signup(KNOWN)
    recorder = Recorder(gw.service.app)
    lookup, hash_ = repo.find_user_by_email, gw.service.app.state.tenants.passwords.hash

    async def find_user_by_email(session, email):  # noqa: ANN001
        recorder.log.append("looked up")
        return await lookup(session, email)

    def hashing(password: str) -> str:
        recorder.log.append("hashed")
        return hash_(password)

    monkeypatch.setattr(repo, "find_user_by_email", find_user_by_email)
    monkeypatch.setattr(gw.service.app.state.tenants.passwords, "hash", hashing)
    transport = httpx.ASGITransport(app=recorder)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield recorder, client


async def _answers(gw, recorded, path: str, body_for) -> list[tuple]:  # noqa: ANN001
    recorder, client = recorded
    answers = []
    for email in (KNOWN, "nobody@haneul.example"):
        recorder.log.clear()
        r = await client.post(path, json=body_for(email), headers=gw.anon())
        headers = {k: v for k, v in r.headers.items() if k != "x-request-id"}
        answers.append((r.status_code, r.json(), headers, list(recorder.log)))
    return answers


async def test_sign_up_answers_known_and_unknown_alike_before_any_look_up(gw, recorded):
    def body(email: str) -> dict:
        return {"email": email, "password": PASSWORD, "name": "N", "team_name": "T"}

    before = len(await gw.events("user.verification_requested"))
    known, unknown = await _answers(gw, recorded, "/api/v1/auth/signup", body)
    assert known[:3] == unknown[:3] and known[0] == 202
    # the same work before the answer: one hash; the address is looked up only afterwards
    assert known[3] == unknown[3] == ["hashed", "answered", "looked up"]
    # and the work was done: a new account (and its mail) for the new address only
    sent = [e["data"]["email"] for e in await gw.events("user.verification_requested")]
    assert sent[before:] == ["nobody@haneul.example"]


async def test_password_reset_answers_known_and_unknown_alike_before_any_look_up(gw, recorded):
    known, unknown = await _answers(
        gw, recorded, "/api/v1/auth/password-reset", lambda email: {"email": email}
    )
    assert known[:3] == unknown[:3] and known[0] == 202
    assert known[3] == unknown[3] == ["answered", "looked up"]
    sent = [e["data"]["email"] for e in await gw.events("user.password_reset_requested")]
    assert sent == [KNOWN]
