"""SES bounce and complaint notifications applied: suppressions and `mail.bounced`
(docs/mail.md; what a notification says is read in `pingvas_mail.domain.ses_notifications`).

SES → SNS `<prefix>-mail-ses-events` → SQS (same name), each SQS body an SNS notification
whose `Message` is the SES JSON (`notificationType` for identity notifications,
`eventType` for a configuration set's events). Hard bounces and complaints put the
address on the suppression list and publish `mail.bounced`; transient bounces publish
`mail.bounced` with `suppressed: false` and change nothing. Each notification is applied
once (the inbox table, keyed by the SNS message id)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts.events.mail import MailBounced
from pingvas_kit.db import Database
from pingvas_kit.logging import get_logger
from pingvas_kit.service import ServiceRuntime

from ..adapters import repository as repo
from ..adapters.db import inbox
from ..adapters.ses import Ses
from ..domain.ses_notifications import BadNotification, parse, read

log = get_logger("pingvas.mail.notifications")

NOTIFICATIONS = Counter(
    "pingvas_mail_notifications_total", "SES notifications handled", ["kind", "outcome"]
)

INBOX_CONSUMER = "mail-ses"


class Notifications:
    def __init__(self, runtime: ServiceRuntime, ses: Ses) -> None:
        self.runtime = runtime
        self.ses = ses

    @property
    def db(self) -> Database:
        return self.runtime.db

    async def run(self, stop: asyncio.Event) -> None:
        queue_url = await self.ses.find_queue()
        wait = max(0, min(int(self.runtime.settings.bus_wait_seconds), 20))
        log.info("mail.notifications_started", queue=queue_url)
        while not stop.is_set():
            try:
                receive = asyncio.ensure_future(
                    self.ses.sqs.receive_message(
                        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait
                    )
                )
                stopping = asyncio.ensure_future(stop.wait())
                await asyncio.wait([receive, stopping], return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                if not receive.done():
                    receive.cancel()
                    with contextlib.suppress(BaseException):
                        await receive
                    break
                messages = receive.result().get("Messages", [])
                for message in messages:
                    if await self.handle(message["Body"]):
                        await self.ses.sqs.delete_message(
                            QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"]
                        )
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("mail.notifications_error")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=2.0)
        log.info("mail.notifications_stopped")

    async def handle(self, body: str) -> bool:
        """Apply one SQS body; True when it may be deleted (applied, a repeat, or poison)."""
        try:
            key, notification = parse(body)
        except BadNotification as exc:
            log.warning("mail.notification_unreadable", error=str(exc))
            NOTIFICATIONS.labels("unreadable", "dropped").inc()
            return True
        entries = read(notification)
        kind = str(notification.get("notificationType") or notification.get("eventType") or "other")
        try:
            async with self.db.transaction() as session:
                added = await repo.affected(
                    session,
                    repo.insert_into(session, inbox)
                    .values(
                        consumer=INBOX_CONSUMER,
                        event_id=key,
                        type=f"ses.{kind}"[:100],
                        tenant_id=None,
                        processed_at=repo.now(),
                    )
                    .on_conflict_do_nothing(index_elements=["consumer", "event_id"]),
                )
                if added == 0:
                    NOTIFICATIONS.labels(kind, "duplicate").inc()
                    return True
                for entry in entries:
                    await self._apply(session, entry)
        except Exception:
            log.exception("mail.notification_failed", kind=kind)
            return False
        NOTIFICATIONS.labels(kind, "applied" if entries else "ignored").inc()
        return True

    async def _apply(self, session: AsyncSession, entry: dict[str, Any]) -> None:
        email = entry["email"]
        matched = None
        if entry["provider_message_id"]:
            matched = await repo.message_by_provider_id(session, entry["provider_message_id"])
            if matched is not None and repo.normalise_email(
                matched.to_email
            ) != repo.normalise_email(email):
                matched = None
        if entry["suppress"]:
            reason = "complaint" if entry["kind"] == "complaint" else "bounce"
            await repo.suppress(session, email=email, reason=reason, detail=entry["diagnostic"])
        provider_id = entry["provider_message_id"]
        await self.runtime.outbox.add(
            session,
            MailBounced(
                message_id=matched.id if matched is not None else None,
                provider_message_id=str(provider_id)[:256] if provider_id else None,
                email=email,
                kind=entry["kind"],
                bounce_type=entry["bounce_type"],
                diagnostic=entry["diagnostic"],
                suppressed=entry["suppress"],
                bounced_at=entry["at"],
            ),
            tenant_id=matched.tenant_id if matched is not None else None,
        )
        log.info(
            "mail.bounced",
            kind=entry["kind"],
            bounce_type=entry["bounce_type"],
            suppressed=entry["suppress"],
            message_id=matched.id if matched is not None else None,
        )
