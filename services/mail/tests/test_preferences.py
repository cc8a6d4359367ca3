"""Notification preferences (the person's own) and one-click unsubscribe (docs/mail.md, "API")."""

from __future__ import annotations

import email
import uuid
from email import policy
from urllib.parse import parse_qs, urlparse

from pingvas_mail.adapters.db import messages
from pingvas_mail.domain import unsubscribe
from pingvas_mail.usecases.sender import build_mime

URL = "/api/v1/notification-preferences"


async def test_a_person_sees_and_changes_only_their_own_preferences(mail):
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    r = await mail.client.get(URL, headers=mail.as_user(alice))
    assert r.status_code == 200
    assert r.json() == {"job_completed": False, "usage_notices": True, "newsletter": False}

    r = await mail.client.put(
        URL, json={"job_completed": True, "newsletter": True}, headers=mail.as_user(alice)
    )
    assert r.json() == {"job_completed": True, "usage_notices": True, "newsletter": True}
    assert (await mail.client.get(URL, headers=mail.as_user(alice))).json()["newsletter"] is True
    # bob, in the same team or not, still has his own (the defaults)
    bob_view = await mail.client.get(URL, headers=mail.as_user(bob, str(uuid.uuid4())))
    assert bob_view.json() == {"job_completed": False, "usage_notices": True, "newsletter": False}


async def test_unknown_keys_and_strangers_are_refused(mail):
    me = mail.as_user(str(uuid.uuid4()))
    r = await mail.client.put(URL, json={"newsletter": True, "sms": True}, headers=me)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert (await mail.client.put(URL, json={"newsletter": "maybe"}, headers=me)).status_code == 422
    assert (await mail.client.get(URL)).status_code == 401
    assert (await mail.client.get(URL, headers=mail.anonymous())).status_code == 401
    key = mail.as_user(str(uuid.uuid4()), str(uuid.uuid4()), kind="api_key")
    assert (await mail.client.get(URL, headers=key)).status_code == 403


async def test_the_newsletter_preference_comes_from_sign_up(mail):
    user = await mail.user(marketing=True)
    r = await mail.client.get(URL, headers=mail.as_user(user))
    assert r.json()["newsletter"] is True


async def test_unsubscribe_link_works_without_logging_in_and_stops_that_category_only(mail):
    owner = await mail.user(email="owner@haneul.example")
    team = await mail.team(owner)
    (notice,) = await mail.settled(await mail.credits_exhausted(team))
    assert notice.status == "sent"

    # the link in the mail's text (the web page) and the List-Unsubscribe header (one click)
    page_links = [w for w in notice.text.split() if "unsubscribe?token=" in w]
    assert page_links, notice.text
    page_token = parse_qs(urlparse(page_links[0]).query)["token"][0]
    msg = email.message_from_bytes(build_mime(mail.settings, notice), policy=policy.default)
    header_url = str(msg["List-Unsubscribe"]).strip("<>")
    token = parse_qs(urlparse(header_url).query)["token"][0]
    assert token == page_token
    assert unsubscribe.verify(mail.settings, token) == (owner, "usage_notices")

    path = f"/api/v1/mail/unsubscribe?token={token}"
    described = await mail.client.get(path)  # no identity at all
    assert described.status_code == 200, described.text
    assert described.json() == {
        "preference": "usage_notices",
        "email": "o***@haneul.example",
        "subscribed": True,
    }
    # what a mail client sends (RFC 8058), with the gateway's anonymous identity
    done = await mail.client.post(
        path,
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded", **mail.anonymous()},
    )
    assert done.status_code == 200 and done.json()["subscribed"] is False
    again = await mail.client.post(path)
    assert again.status_code == 200  # idempotent
    prefs = (await mail.client.get(URL, headers=mail.as_user(owner))).json()
    assert prefs == {"job_completed": False, "usage_notices": False, "newsletter": False}

    (skipped,) = await mail.settled(await mail.credits_exhausted(team))
    assert skipped.status == "unsubscribed"
    (transactional,) = await mail.settled(await mail.payment_failed(team))
    assert transactional.status == "sent"  # transactional mail keeps coming


async def test_forged_or_broken_tokens_are_refused(mail):
    victim = str(uuid.uuid4())
    good = unsubscribe.sign(mail.settings, victim, "newsletter")
    body, mac = good.split(".")
    other = unsubscribe.sign(mail.settings, str(uuid.uuid4()), "newsletter")
    forged = f"{other.split('.')[0]}.{mac}"
    for token in (forged, body + ".AAAAAAAAAAAAAAAAAAAAAAAAAAA", "not-a-token"):
        r = await mail.client.post(f"/api/v1/mail/unsubscribe?token={token}")
        assert r.status_code in (400, 422), r.text
    assert (await mail.client.post("/api/v1/mail/unsubscribe")).status_code == 422


async def test_a_preference_turned_off_after_queueing_still_stops_the_mail(mail_for):
    async with mail_for(run_sender=False) as m:
        user = await m.user(email="late@example.com")
        team = await m.team(user)
        await m.client.put(URL, json={"job_completed": True}, headers=m.as_user(user))
        event = await m.job_completed(team, user)
        (row,) = await m.messages_for(event)
        assert row.status == "pending"
        await m.client.put(URL, json={"job_completed": False}, headers=m.as_user(user))
        await m.sender.send_once()
        (row,) = await m.rows(messages, id=row.id)
        assert row.status == "unsubscribed"
