"""The processor: recorded webhooks taken in order of arrival, one transaction each, and
marked with their outcome; failures retried with back-off; the sweeps on the same poll.

On Postgres the next event is taken `FOR UPDATE SKIP LOCKED`, so replicas share the work."""

from __future__ import annotations

import asyncio
import contextlib
import traceback
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pingvas_contracts.registry import InvalidEventData
from pingvas_kit.db import Database
from pingvas_kit.logging import get_logger
from pingvas_kit.outbox import Outbox
from pingvas_kit.service import ServiceRuntime

from ...adapters import repository as repo
from ...adapters.repository import aware, now, state_of
from ...domain.payloads import BadPayload
from ...domain.periods import later
from ...domain.webhooks import FAILED, NotYet
from ...plans import Plans
from ...settings import Settings
from .. import ledger
from ._events import WebhookEvents

log = get_logger("pingvas.billing.processor")


class Processor:
    def __init__(self, runtime: ServiceRuntime, settings: Settings, plans: Plans) -> None:
        self.runtime = runtime
        self.settings = settings
        self.plans = plans
        self.events = WebhookEvents(settings, plans, runtime.outbox)
        self._wake = asyncio.Event()

    @property
    def db(self) -> Database:
        return self.runtime.db

    @property
    def outbox(self) -> Outbox:
        return self.runtime.outbox

    def poke(self) -> None:
        """Look now rather than at the next poll (a webhook was just recorded)."""
        self._wake.set()

    def backoff(self, attempts: int) -> timedelta:
        """How long a failed event waits before its next attempt."""
        return timedelta(seconds=min(self.settings.process_interval_s * 2**attempts, 300.0))

    # -- the loop ----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        log.info("billing.processor_started")
        while not stop.is_set():
            try:
                while not stop.is_set() and await self.process_next():
                    pass
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database may be away for a moment
                log.warning("billing.processor_error", error=type(exc).__name__)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    _first(stop.wait(), self._wake.wait()), timeout=self.settings.process_interval_s
                )
        log.info("billing.processor_stopped")

    async def drain(self) -> int:
        """Process every event due now; how many were taken (tests, the CLI)."""
        count = 0
        while await self.process_next():
            count += 1
        return count

    async def process_next(self, at: datetime | None = None) -> bool:
        """Take the next due event and handle it; False when there is none."""
        at = at or now()
        event_id: int | None = None
        try:
            async with self.db.transaction() as session:
                row = await repo.next_webhook(
                    session,
                    at=at,
                    max_attempts=self.settings.max_webhook_attempts,
                    backoff=self.backoff,
                )
                if row is None:
                    return False
                event_id = row.id
                outcome = await self.events.handle(session, row, at)
                await repo.mark_webhook(
                    session,
                    row.id,
                    processed_at=now(),
                    outcome=outcome,
                    error=None,
                    attempts=row.attempts + 1,
                )
            log.info("billing.webhook_processed", webhook_event=event_id, outcome=outcome)
        except Exception as exc:
            if event_id is None:
                raise
            await self._failed(event_id, exc)
        return True

    async def _failed(self, event_id: int, exc: Exception) -> None:
        # only our own messages: a driver's may quote the values of the statement; for
        # anything else the type and where it was raised
        if isinstance(exc, (BadPayload, NotYet, InvalidEventData)):  # no values in these
            error = str(exc)
        else:
            frames = traceback.extract_tb(exc.__traceback__)
            where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
            error = f"{type(exc).__name__}{where}"
        async with self.db.transaction() as session:
            row = await repo.lock_webhook(session, event_id)
            if row is None or row.outcome not in (None, FAILED):
                return
            attempts = row.attempts + 1
            await repo.mark_webhook(
                session,
                event_id,
                processed_at=now(),
                outcome=FAILED,
                error=error[:500],
                attempts=attempts,
            )
        given_up = attempts >= self.settings.max_webhook_attempts
        log.warning(
            "billing.webhook_failed",
            webhook_event=event_id,
            attempts=attempts,
            error=error[:200],
            given_up=given_up,
        )

    # -- sweeps ------------------------------------------------------------------------------

    async def sweep(self, at: datetime | None = None) -> int:
        """Reduce the entitlements of subscriptions past due longer than the grace period;
        grant the Free plan's due periods. How many subscriptions were reduced."""
        at = at or now()
        cutoff = at - timedelta(seconds=self.settings.grace_period_s)
        async with self.db.transaction() as session:
            rows = await repo.delinquent_past(session, cutoff)
            for row in rows:
                before = state_of(row)
                new = {
                    **before,
                    "entitlements_reduced": True,
                    "updated_at": later(at, aware(before["updated_at"])),
                }
                await self.events.save_and_announce_change(session, before, new)
                log.info("billing.entitlements_reduced", tenant_id=row.tenant_id)
        await ledger.grant_due_free_periods(self.db, self.outbox, at)
        return len(rows)


async def _first(*aws: Any) -> None:
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
