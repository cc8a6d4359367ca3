"""The sender: raw MIME through SES v2, at most once, back-off, rate (docs/mail.md)."""

from __future__ import annotations

import asyncio
import email
import time
from email import policy
from types import SimpleNamespace

import pytest
from pingvas_mail.adapters import repository as repo
from pingvas_mail.adapters.ses import Retryable
from pingvas_mail.domain import unsubscribe
from pingvas_mail.settings import Settings
from pingvas_mail.usecases.sender import RateLimiter, Sender, build_mime


def _row(**kw):
    base = dict(
        id="m-1",
        to_email="minji@example.com",
        subject="이미지가 완성되었어요",
        text="Your images are ready: https://app.example/gallery",
        html="<p>Your images are <b>ready</b></p>",
        template="job_completed",
        category="notification",
        user_id="u-1",
        tenant_id="t-1",
        locale="ko",
    )
    return SimpleNamespace(**{**base, **kw})


def test_the_message_is_text_and_html_with_one_click_unsubscribe():
    settings = Settings(public_url="https://app.pingvas.dev")
    msg = email.message_from_bytes(build_mime(settings, _row()), policy=policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert str(msg["Subject"]) == "이미지가 완성되었어요"
    assert msg["From"] == settings.from_address
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = str(msg["List-Unsubscribe"]).strip("<>")
    assert url.startswith("https://app.pingvas.dev/api/v1/mail/unsubscribe?token=")
    token = url.split("token=", 1)[1]
    assert unsubscribe.verify(settings, token) == ("u-1", "job_completed")

    transactional = email.message_from_bytes(
        build_mime(settings, _row(template="verify_email", category="transactional")),
        policy=policy.default,
    )
    assert transactional["List-Unsubscribe"] is None


@pytest.mark.parametrize("db_backend", ["sqlite", "postgres"], indirect=True)
async def test_a_sender_killed_mid_send_leaves_unknown_and_nothing_is_resent(mail_for, db_backend):
    async with mail_for(run_sender=False, **db_backend) as m:
        user = await m.user(email="once@example.com")
        event = await m.verification(user, "once@example.com")
        claimed = await m.sender.claim()  # handed to SES, then the process died
        assert [r.causation_id for r in claimed] == [event.id]
        (row,) = await m.messages_for(event)
        assert row.status == "sending" and row.claimed_at is not None and row.attempts == 1

    before = m.ses_sent()
    async with mail_for(sending_lease_s=0.3, **db_backend) as restarted:
        for _ in range(100):
            (row,) = await restarted.messages_for(event)
            if row.status != "sending":
                break
            await asyncio.sleep(0.05)
        assert row.status == "unknown"
        assert row.provider_message_id is None
        await restarted.sender.send_once()
        await asyncio.sleep(0.2)
        (row,) = await restarted.messages_for(event)
        assert row.status == "unknown"
        assert restarted.ses_sent() == before
        assert await restarted.events("sent") == []


class _ThrottledSes:
    """SES that throttles the first `throttles` sends."""

    def __init__(self, throttles: int) -> None:
        self.throttles = throttles
        self.calls = 0

    async def send_raw(self, raw: bytes, *, to: str, tags: dict[str, str]) -> str:
        self.calls += 1
        if self.calls <= self.throttles:
            raise Retryable("TooManyRequestsException: Maximum sending rate exceeded")
        return f"ses-{self.calls}"


async def test_throttling_is_retried_with_back_off_then_given_up(mail_for):
    async with mail_for(run_sender=False, max_attempts=2) as m:
        user = await m.user(email="busy@example.com")
        event = await m.verification(user, "busy@example.com")
        ses = _ThrottledSes(throttles=1)
        sender = Sender(m.runtime, m.settings, ses)
        await sender.send_once()
        (row,) = await m.messages_for(event)
        assert row.status == "pending" and row.attempts == 1
        assert repo.aware(row.next_attempt_at) > repo.now()
        assert "TooManyRequests" in row.error
        assert await sender.send_once() == 0  # not due yet
        await asyncio.sleep(0.6)
        await sender.send_once()
        (row,) = await m.messages_for(event)
        assert row.status == "sent" and row.provider_message_id == "ses-2"

        other = await m.verification(user, "busy@example.com")
        always = Sender(m.runtime, m.settings, _ThrottledSes(throttles=99))
        await always.send_once()
        await asyncio.sleep(0.6)
        await always.send_once()
        (row,) = await m.messages_for(other)
        assert row.status == "failed" and row.attempts == 2


@pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
async def test_two_senders_never_claim_the_same_message(mail_for, db_backend):
    async with mail_for(run_sender=False, **db_backend) as m:
        user = await m.user(email="many@example.com")
        for _ in range(12):
            await m.verification(user, "many@example.com")
        a, b = (
            Sender(m.runtime, m.settings, None, batch_size=8),
            Sender(m.runtime, m.settings, None, batch_size=8),
        )
        first, second = await asyncio.gather(a.claim(), b.claim())
        ids = [r.id for r in first] + [r.id for r in second]
        assert len(ids) == 12 and len(set(ids)) == 12


async def test_the_rate_limit_spaces_sends():
    limiter = RateLimiter(20.0)
    started = time.monotonic()
    for _ in range(6):
        await limiter.wait()
    assert time.monotonic() - started >= 0.24
