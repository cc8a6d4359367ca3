"""The sender loop (docs/mail.md, "Exactly one message per event and recipient").

claim (pending → sending, `claimed_at`) → SES v2 SendEmail with the raw MIME → sent, with
SES's message id and a `mail.sent` event. At most once: a message still `sending` after
`sending_lease_s` (the sender died between SES and recording it) becomes `unknown` and is
never sent again. Throttling, 5xx and connections that never opened are retried with
exponential back-off up to `max_attempts`; the send rate stays under
`max_send_rate_per_s`. Just before sending, a suppressed address or a preference turned
off since the message was queued still stops it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from prometheus_client import Counter

from pingvas_contracts.events.mail import MailSent
from pingvas_kit.db import Database
from pingvas_kit.logging import get_logger
from pingvas_kit.service import ServiceRuntime

from ..adapters import repository as repo
from ..adapters.db import messages
from ..adapters.ses import Ambiguous, Rejected, Retryable, Ses, from_domain
from ..consumers import SKIPPED
from ..domain import unsubscribe
from ..settings import Settings

log = get_logger("pingvas.mail.sender")

SENT = Counter("pingvas_mail_sent_total", "Messages SES accepted", ["template"])
FAILED = Counter("pingvas_mail_failed_total", "Messages given up on", ["reason"])
RETRIED = Counter("pingvas_mail_send_retries_total", "Sends retried after throttling or 5xx")
UNKNOWN = Counter(
    "pingvas_mail_unknown_total", "Messages whose fate is unknown (sender stopped mid-send)"
)

#: headers may be long (an unsubscribe URL); never fold them into encoded words
_POLICY = policy.SMTP.clone(max_line_length=998)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(0.5 * 2 ** max(attempts - 1, 0), 300.0))


def build_mime(settings: Settings, row: Any) -> bytes:
    """multipart/alternative (text, then HTML), with the RFC 8058 one-click headers on
    mail that honours a preference."""
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = settings.from_address
    msg["To"] = row.to_email
    msg["Subject"] = row.subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(
        idstring=row.id, domain=from_domain(settings.from_address) or None
    )
    preference = unsubscribe.preference_for(row.template, row.category)
    if preference is not None and row.user_id:
        token = unsubscribe.sign(settings, row.user_id, preference)
        msg["List-Unsubscribe"] = f"<{unsubscribe.api_url(settings, token)}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(row.text, subtype="plain", charset="utf-8")
    msg.add_alternative(row.html, subtype="html", charset="utf-8")
    return msg.as_bytes(policy=_POLICY)


def _tag(value: str | None) -> str:
    """SES tag values: letters, digits, _ - . only."""
    cleaned = "".join(c if c.isalnum() or c in "_-." else "_" for c in (value or "none"))
    return cleaned[:256] or "none"


class RateLimiter:
    """At most `rate` acquisitions a second, evenly spaced."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        if self._next > now:
            await asyncio.sleep(self._next - now)
            now = time.monotonic()
        self._next = max(self._next, now) + self.interval


class Sender:
    def __init__(
        self, runtime: ServiceRuntime, settings: Settings, ses: Ses, *, batch_size: int = 10
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.ses = ses
        self.batch_size = batch_size
        self.limiter = RateLimiter(settings.max_send_rate_per_s)
        self._wake = asyncio.Event()

    @property
    def db(self) -> Database:
        return self.runtime.db

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        log.info("mail.sender_started", rate=self.settings.max_send_rate_per_s)
        while not stop.is_set():
            try:
                sent = await self.send_once(stop)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("mail.sender_error")
                sent = 0
            if sent == 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    waiters = [
                        asyncio.ensure_future(stop.wait()),
                        asyncio.ensure_future(self._wake.wait()),
                    ]
                    await asyncio.wait(
                        waiters,
                        timeout=self.settings.send_interval_s,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    for w in waiters:
                        w.cancel()
        log.info("mail.sender_stopped")

    async def _forget_links(self, session: Any, message_ids: list[str]) -> None:
        """A message at its end keeps no working verification, reset or invitation link
        (pingvas_mail.redact); only the local run's inbox (`dev_inbox`) shows them."""
        if not self.settings.dev_inbox:
            await repo.forget_links(session, message_ids)

    async def expire_leases(self) -> list[str]:
        before = repo.now() - timedelta(seconds=self.settings.sending_lease_s)
        async with self.db.transaction() as session:
            ids = await repo.expire_leases(session, before=before)
            await self._forget_links(session, ids)
        for message_id in ids:
            UNKNOWN.inc()
            log.warning("mail.unknown", message_id=message_id, reason="lease expired; not resent")
        return ids

    async def claim(self) -> list[Any]:
        async with self.db.transaction() as session:
            return await repo.claim(session, at=repo.now(), limit=self.batch_size)

    async def send_once(self, stop: asyncio.Event | None = None) -> int:
        """Expire stale leases, claim a batch and send it; how many messages were handled."""
        await self.expire_leases()
        rows = await self.claim()
        for i, row in enumerate(rows):
            if stop is not None and stop.is_set():
                # hand the rest back untouched (they were never given to SES)
                async with self.db.transaction() as session:
                    for rest in rows[i:]:
                        await repo.set_status(
                            session,
                            rest.id,
                            expect="sending",
                            status="pending",
                            claimed_at=None,
                            attempts=rest.attempts - 1,
                        )
                break
            await self.send(row)
        return len(rows)

    async def _still_wanted(self, row: Any) -> str | None:
        async with self.db.sessionmaker() as session:
            if await repo.is_suppressed(session, row.to_email):
                return "suppressed"
            preference = unsubscribe.preference_for(row.template, row.category)
            if preference is not None and row.user_id:
                if not (await repo.get_preferences(session, row.user_id))[preference]:
                    return "unsubscribed"
        return None

    async def send(self, row: Any) -> str:
        """Send one claimed message; the status it ends in."""
        blocked = await self._still_wanted(row)
        if blocked is not None:
            async with self.db.transaction() as session:
                await repo.set_status(
                    session, row.id, expect="sending", status=blocked, claimed_at=None
                )
                await self._forget_links(session, [row.id])
            SKIPPED.labels(blocked).inc()
            log.info("mail.skipped", reason=blocked, message_id=row.id, template=row.template)
            return blocked
        raw = build_mime(self.settings, row)
        tags = {
            "tenant": _tag(row.tenant_id),
            "template": _tag(row.template),
            "category": _tag(row.category),
        }
        await self.limiter.wait()
        try:
            provider_id = await self.ses.send_raw(raw, to=row.to_email, tags=tags)
        except Retryable as exc:
            return await self._retry_or_fail(row, str(exc))
        except Rejected as exc:
            async with self.db.transaction() as session:
                await repo.set_status(
                    session, row.id, expect="sending", status="failed", error=str(exc)[:500]
                )
                await self._forget_links(session, [row.id])
            FAILED.labels("rejected").inc()
            log.warning("mail.rejected", message_id=row.id, error=str(exc)[:200])
            return "failed"
        except Ambiguous as exc:
            async with self.db.transaction() as session:
                await repo.set_status(
                    session, row.id, expect="sending", status="unknown", error=str(exc)[:500]
                )
                await self._forget_links(session, [row.id])
            UNKNOWN.inc()
            log.warning("mail.unknown", message_id=row.id, error=str(exc)[:200])
            return "unknown"
        await self.record_sent(row, provider_id)
        return "sent"

    async def _retry_or_fail(self, row: Any, error: str) -> str:
        async with self.db.transaction() as session:
            if row.attempts >= self.settings.max_attempts:
                await repo.set_status(
                    session, row.id, expect="sending", status="failed", error=error[:500]
                )
                await self._forget_links(session, [row.id])
                FAILED.labels("attempts").inc()
                log.warning(
                    "mail.failed", message_id=row.id, attempts=row.attempts, error=error[:200]
                )
                return "failed"
            await repo.set_status(
                session,
                row.id,
                expect="sending",
                status="pending",
                claimed_at=None,
                next_attempt_at=repo.now() + backoff(row.attempts),
                error=error[:500],
            )
        RETRIED.inc()
        log.info("mail.retry", message_id=row.id, attempts=row.attempts, error=error[:200])
        return "pending"

    async def record_sent(self, row: Any, provider_id: str) -> None:
        sent_at = repo.now()
        async with self.db.transaction() as session:
            # `unknown` too: a lease that ran out while SES was answering is now known
            await session.execute(
                messages.update()
                .where(messages.c.id == row.id, messages.c.status.in_(["sending", "unknown"]))
                .values(status="sent", provider_message_id=provider_id, sent_at=sent_at, error=None)
            )
            await self._forget_links(session, [row.id])
            await self.runtime.outbox.add(
                session,
                MailSent(
                    message_id=row.id,
                    provider="ses",
                    provider_message_id=provider_id,
                    template=row.template,
                    category=row.category,
                    locale=row.locale if row.locale in ("ko", "en") else "en",
                    to=row.to_email,
                    user_id=row.user_id,
                    causation_event_id=row.causation_id,
                    sent_at=sent_at,
                ),
                tenant_id=row.tenant_id,
            )
        SENT.labels(row.template).inc()
        log.info(
            "mail.sent", message_id=row.id, template=row.template, provider_message_id=provider_id
        )
