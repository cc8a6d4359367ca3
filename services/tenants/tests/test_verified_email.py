"""Until a person has verified their address they send no mail to others (no invitations)
and make no API keys; verification mail itself is limited per account."""

from datetime import timedelta

import sqlalchemy as sa
from pingvas_tenants.adapters.db import email_tokens

from pingvas_kit.problems import PROBLEM_JSON

EMAIL = "new.owner@haneul.example"


def assert_not_verified(r) -> None:
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON)
    assert r.json()["type"].endswith("/email-not-verified")


async def test_unverified_owner_can_neither_invite_nor_create_api_keys(gw):
    owner = await gw.signup(EMAIL, verified=False)
    me = gw.user(owner)
    assert_not_verified(
        await gw.post("/api/v1/invitations", {"email": "victim@else.example"}, as_=me)
    )
    assert_not_verified(
        await gw.post("/api/v1/api-keys", {"name": "k", "scopes": ["generations:write"]}, as_=me)
    )
    assert await gw.events("member.invited") == []
    assert await gw.events("apikey.created") == []
    assert (await gw.get("/api/v1/invitations", as_=me)).json() == []
    assert (await gw.get("/api/v1/api-keys", as_=me)).json() == []

    # once verified, the same (older) access token works: the database decides, not evf
    await gw.verify(EMAIL)
    assert gw.claims(owner)["evf"] is False
    r = await gw.post("/api/v1/invitations", {"email": "friend@else.example"}, as_=me)
    assert r.status_code == 201, r.text
    r = await gw.post("/api/v1/api-keys", {"name": "k", "scopes": ["generations:write"]}, as_=me)
    assert r.status_code == 201, r.text


async def age_verification_links(gw, by: timedelta) -> None:
    async with gw.db.transaction() as session:
        rows = (await session.execute(sa.select(email_tokens))).all()
        for row in rows:
            await session.execute(
                email_tokens.update()
                .where(email_tokens.c.token_hash == row.token_hash)
                .values(created_at=row.created_at - by)
            )


async def test_verification_resend_is_limited_per_account(gw):
    owner = await gw.signup(EMAIL, verified=False)
    me = gw.user(owner)
    resend = "/api/v1/auth/verify-email/resend"

    # sign-up sent one a moment ago
    r = await gw.post(resend, as_=me)
    assert r.status_code == 429 and r.headers["content-type"].startswith(PROBLEM_JSON)
    assert r.json()["type"].endswith("/too-many-requests")
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert len(await gw.events("user.verification_requested")) == 1

    # one a minute ...
    for sent in range(2, 6):
        await age_verification_links(gw, timedelta(seconds=61))
        r = await gw.post(resend, as_=me)
        assert r.status_code == 202, r.text
        assert len(await gw.events("user.verification_requested")) == sent
        assert (await gw.post(resend, as_=me)).status_code == 429

    # ... and five an hour: the sixth waits until the oldest is an hour old
    await age_verification_links(gw, timedelta(seconds=61))
    r = await gw.post(resend, as_=me)
    assert r.status_code == 429
    assert 60 < int(r.headers["retry-after"]) <= 3600 - 4 * 61
    assert len(await gw.events("user.verification_requested")) == 5
    await age_verification_links(gw, timedelta(minutes=60))
    assert (await gw.post(resend, as_=me)).status_code == 202

    # the link still works, and another account is not limited by this one
    other = await gw.signup("other@haneul.example", verified=False)
    await age_verification_links(gw, timedelta(seconds=61))
    assert (await gw.post(resend, as_=gw.user(other))).status_code == 202
    await gw.verify(EMAIL)


async def test_a_key_carries_whether_its_creator_is_verified(gw):
    """The gateway's key check says whether the key's creator has verified their address,
    read now: render refuses to generate for a key whose creator has not."""
    from pingvas_tenants.adapters.db import users

    owner = await gw.signup(EMAIL)
    r = await gw.post(
        "/api/v1/api-keys", {"name": "k", "scopes": ["generations:write"]}, as_=gw.user(owner)
    )
    key = r.json()["key"]
    assert (await gw.post("/internal/api-keys/verify", {"key": key})).json()["email_verified"]
    # a key from before verification was required, or an address that stopped being verified
    await gw.execute(users.update().values(email_verified_at=None))
    answer = (await gw.post("/internal/api-keys/verify", {"key": key})).json()
    assert answer["email_verified"] is False


async def test_following_the_link_in_the_signed_in_session_renews_it_as_verified(gw):
    """The access token of a session from before verification says "unverified"; following
    the link with that session's refresh token answers with the session's next pair, whose
    access token says "verified" (no log-out and log-in)."""
    owner = await gw.signup(EMAIL, verified=False)
    assert gw.claims(owner)["evf"] is False
    sent = (await gw.events("user.verification_requested"))[-1]["data"]["verification_url"]
    token = sent.split("token=", 1)[1]

    r = await gw.post(
        "/api/v1/auth/verify-email", {"token": token, "refresh_token": owner["refresh_token"]}
    )
    assert r.status_code == 200, r.text
    renewed = r.json()
    assert renewed["email_verified"] is True
    assert gw.claims(renewed)["evf"] is True
    assert gw.claims(renewed)["sid"] == gw.claims(owner)["sid"]  # the same session
    # the old refresh token was used up by the renewal, like any refresh
    r = await gw.post("/api/v1/auth/refresh", {"refresh_token": renewed["refresh_token"]})
    assert r.status_code == 200 and gw.claims(r.json())["evf"] is True


async def test_another_persons_session_is_not_renewed_by_a_link(gw):
    someone = await gw.signup("someone@haneul.example")
    await gw.signup(EMAIL, verified=False)
    sent = (await gw.events("user.verification_requested"))[-1]["data"]["verification_url"]
    r = await gw.post(
        "/api/v1/auth/verify-email",
        {"token": sent.split("token=", 1)[1], "refresh_token": someone["refresh_token"]},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"email_verified": True}
    # and that person's refresh token still works: it was not used
    r = await gw.post("/api/v1/auth/refresh", {"refresh_token": someone["refresh_token"]})
    assert r.status_code == 200, r.text


async def test_a_new_link_by_address_gives_the_same_answer_for_any_address(gw):
    await gw.signup(EMAIL, verified=False)
    await gw.signup("done@haneul.example")
    ask = "/api/v1/auth/verify-email/request"
    await age_verification_links(gw, timedelta(seconds=61))
    answers = [
        await gw.post(ask, {"email": email})
        for email in (EMAIL.upper(), "nobody@haneul.example", "done@haneul.example")
    ]
    assert {(r.status_code, r.text) for r in answers} == {(202, '{"status":"accepted"}')}
    sent = [e["data"]["email"] for e in await gw.events("user.verification_requested")]
    # the unverified account got a second link; the unknown and the verified one nothing
    assert sent.count(EMAIL) == 2 and sent.count("done@haneul.example") == 1
    # the per-account limit holds here too, silently
    assert (await gw.post(ask, {"email": EMAIL})).status_code == 202
    sent = [e["data"]["email"] for e in await gw.events("user.verification_requested")]
    assert sent.count(EMAIL) == 2
    # and the newest link works
    await gw.verify(EMAIL)
