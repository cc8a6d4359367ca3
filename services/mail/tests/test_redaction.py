"""Mail keeps no working verification, reset or invitation link once a message is out of
its hands (sent, or never to be sent); only the local run's inbox shows them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from pingvas_mail.adapters.ses import Rejected
from pingvas_mail.domain.redact import REDACTED, redact
from pingvas_mail.usecases.sender import Sender

from pingvas_contracts import example
from pingvas_contracts.events.tenants import MemberInvited

from .conftest import iso

SECRET = "Zq3_kP9-xW2mN7vB4cR8tY1uI6oL5aS0dF3gH2jK9lE"


class _CapturingSes:
    def __init__(self, reject: bool = False) -> None:
        self.raw: list[bytes] = []
        self.reject = reject

    async def send_raw(self, raw: bytes, *, to: str, tags: dict[str, str]) -> str:
        self.raw.append(raw)
        if self.reject:
            raise Rejected("MessageRejected: Email address is not verified.")
        return f"ses-{len(self.raw)}"


def test_redact_replaces_link_secrets_only():
    text = (
        f"https://app.pingvas.dev/verify-email?token={SECRET} "
        f'<a href="https://app.pingvas.dev/reset-password?x=1&amp;token={SECRET}">'
        f"https://app.pingvas.dev/invitations/{SECRET}. https://app.pingvas.dev/gallery"
    )
    out = redact(text)
    assert SECRET not in out
    assert out.count(REDACTED) == 3
    assert "https://app.pingvas.dev/verify-email?token=REDACTED " in out
    assert "https://app.pingvas.dev/invitations/REDACTED." in out
    assert "https://app.pingvas.dev/gallery" in out
    kept = "https://app.pingvas.dev/unsubscribe?token=abc.def"
    assert redact(kept) == kept
    assert redact("") == "" and redact("no links here") == "no links here"


async def invitation(m) -> object:
    return await m.deliver(
        example(
            MemberInvited,
            invitation_id=str(uuid.uuid4()),
            email="invitee@example.com",
            role="member",
            tenant_name="하늘 스튜디오",
            invited_by_user_id=str(uuid.uuid4()),
            invited_by_name="Alex Park",
            locale="en",
            accept_url=f"https://app.pingvas.dev/invitations/{SECRET}",
            expires_at=iso(datetime.now(UTC) + timedelta(days=7)),
            invited_at=iso(),
        ),
        tenant_id=str(uuid.uuid4()),
    )


async def test_a_sent_verification_is_stored_without_its_link(mail_for):
    async with mail_for(run_sender=False) as m:
        user = await m.user(email="minji@example.com")
        event = await m.verification(user, "minji@example.com")
        token = f"tok{user[:8]}"
        (row,) = await m.messages_for(event)
        assert token in row.text  # pending: the sender still needs it
        ses = _CapturingSes()
        await Sender(m.runtime, m.settings, ses).send_once()
        assert token.encode() in ses.raw[0]  # SES got the working link
        (row,) = await m.messages_for(event)
        assert row.status == "sent"
        assert token not in row.text and token not in row.html
        assert "verify-email?token=REDACTED" in row.text
        assert "verify-email?token=REDACTED" in row.html


async def test_an_invitation_that_failed_is_stored_without_its_link(mail_for):
    async with mail_for(run_sender=False) as m:
        event = await invitation(m)
        ses = _CapturingSes(reject=True)
        await Sender(m.runtime, m.settings, ses).send_once()
        (row,) = await m.messages_for(event)
        assert row.status == "failed"
        assert SECRET not in row.text and SECRET not in row.html
        assert f"/invitations/{REDACTED}" in row.text


async def test_an_unknown_fate_keeps_no_link_either(mail_for):
    async with mail_for(run_sender=False, sending_lease_s=0.0) as m:
        event = await invitation(m)
        sender = Sender(m.runtime, m.settings, _CapturingSes())
        await sender.claim()  # handed to SES, then the process died
        await sender.expire_leases()
        (row,) = await m.messages_for(event)
        assert row.status == "unknown" and SECRET not in row.text + row.html


async def test_the_local_inbox_keeps_the_links(mail_for):
    async with mail_for(run_sender=False, dev_inbox=True) as m:
        event = await invitation(m)
        await Sender(m.runtime, m.settings, _CapturingSes()).send_once()
        (row,) = await m.messages_for(event)
        assert row.status == "sent" and SECRET in row.text
        (item,) = (await m.client.get("/dev/mail/messages")).json()
        assert f"https://app.pingvas.dev/invitations/{SECRET}" in item["links"]
