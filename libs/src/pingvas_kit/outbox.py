"""Transactional outbox: events are rows written in the same transaction as the state
change they announce; a relay publishes them in batches afterwards.

If the process dies after the broker accepted a batch but before the rows were marked,
the batch is published again: delivery is at least once and consumers' inboxes make
the repeat harmless. Nothing is ever lost: a row leaves the pending set only after the
broker confirmed it. Order is best effort (a batch in back-off lets later rows pass, and
standard SNS/SQS reorders anyway): consumers order by the data they carry, such as
`updated_at`, never by arrival."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts import Envelope, EventData, new_envelope, validate_data

from . import telemetry
from .bus import Bus, PublishError
from .db import Database
from .logging import get_logger

log = get_logger("pingvas.outbox")

OUTBOX_LAG = Gauge(
    "pingvas_outbox_lag_seconds", "Age of the oldest unpublished outbox event", ["service"]
)
OUTBOX_PENDING = Gauge("pingvas_outbox_pending", "Unpublished outbox events", ["service"])
OUTBOX_PUBLISHED = Counter(
    "pingvas_outbox_published_total", "Outbox events the broker accepted", ["service"]
)
OUTBOX_FAILURES = Counter(
    "pingvas_outbox_publish_failures_total",
    "Outbox events a publish attempt failed for",
    ["service"],
)
OUTBOX_BATCH_SECONDS = Histogram(
    "pingvas_outbox_batch_seconds", "Time to publish one outbox batch", ["service"]
)


class Outbox:
    """Write events into the outbox inside the caller's transaction."""

    def __init__(self, table: sa.Table, *, source: str) -> None:
        self.table = table
        self.source = source

    async def add(
        self,
        session: AsyncSession,
        data: EventData,
        *,
        tenant_id: str | None,
        subject: str | None = None,
        event_id: str | None = None,
    ) -> Envelope:
        """Stage the event `data` (a contract model; its type is the model's) for
        publication inside the caller's transaction. The model validated its fields when
        it was built, so the transaction never commits an event its consumers would
        reject."""
        if not isinstance(data, EventData):
            raise TypeError(f"outbox.add takes an event model, not {type(data).__name__}")
        envelope = new_envelope(
            data.TYPE,
            # validated again from its JSON form: a model built with model_construct
            # (no checks) fails here, naming fields only, never their values
            validate_data(data.TYPE, data.model_dump(mode="json")),
            source=self.source,
            tenant_id=tenant_id,
            # the span writing it: each consumer's handling span is its child (a new
            # trace when there is none)
            traceparent=telemetry.current_traceparent(),
            subject=subject,
            event_id=event_id,
        )
        await session.execute(
            self.table.insert().values(
                event_id=envelope.id,
                type=envelope.type,
                tenant_id=tenant_id,
                body=envelope.to_json(),
                created_at=envelope.time,
            )
        )
        return envelope


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(0.5 * 2 ** max(attempts - 1, 0), 60.0))


class OutboxRelay:
    """Publishes pending outbox rows in order, in batches; retries with back-off."""

    def __init__(
        self,
        db: Database,
        bus: Bus,
        table: sa.Table,
        *,
        service: str,
        batch_size: int = 500,
        poll_interval: float = 0.2,
        retention: timedelta = timedelta(hours=1),
    ) -> None:
        self.db = db
        self.bus = bus
        self.table = table
        self.service = service
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.retention = retention
        self._wake = asyncio.Event()
        self._last_stats = 0.0
        self._last_cleanup = 0.0
        #: one batch in flight to the broker at a time (run()'s loops take turns)
        self._publishing = asyncio.Lock()

    def wake(self) -> None:
        """Ask the relay to look now rather than at its next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop`. On Postgres two loops take turns: while one batch is in
        flight to the broker, the next is already read (and row-locked) and the last is
        being marked published, so the broker is never idle between batches; one batch
        publishes at a time (`_publishing`), so the broker sees the same concurrency.
        SQLite has no row locks: one loop."""
        log.info("outbox.relay_started", batch_size=self.batch_size)
        loops = 2 if self.db.is_postgres else 1
        await asyncio.gather(*(self._loop(stop, housekeeping=i == 0) for i in range(loops)))
        log.info("outbox.relay_stopped")

    async def _loop(self, stop: asyncio.Event, *, housekeeping: bool) -> None:
        while not stop.is_set():
            try:
                published = await (
                    self.relay_once() if self.db.is_postgres else self._relay_backlog(stop)
                )
                if housekeeping:
                    await self._housekeeping()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox.relay_error")
                published = 0
            if published < self.batch_size:
                # idle or short batch: wait for a wake-up, the next poll, or stop
                self._wake.clear()
                waiters = [
                    asyncio.ensure_future(stop.wait()),
                    asyncio.ensure_future(self._wake.wait()),
                ]
                await asyncio.wait(
                    waiters, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED
                )
                for w in waiters:
                    w.cancel()

    def _pending(self, now: datetime) -> sa.Select:
        t = self.table
        return (
            sa.select(t.c.position, t.c.event_id, t.c.body, t.c.attempts)
            .where(t.c.published_at.is_(None))
            .where(sa.or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now))
            .order_by(t.c.position)
            .limit(self.batch_size)
        )

    async def relay_once(self) -> int:
        """Publish at most one batch; returns how many events the broker accepted."""
        now = datetime.now(UTC)
        if self.db.is_postgres:
            # rows stay locked while the batch is in flight, so relay replicas never
            # publish the same rows at once; SKIP LOCKED lets them take other rows
            async with self.db.transaction() as session:
                rows = (
                    await session.execute(self._pending(now).with_for_update(skip_locked=True))
                ).all()
                if not rows:
                    return 0
                return await self._publish(session, rows)
        # SQLite: one relay per file; read, publish outside a write lock, then mark
        rows = await self._read(after=None)
        if not rows:
            return 0
        async with self.db.transaction() as session:
            return await self._publish(session, rows)

    async def _relay_backlog(self, stop: asyncio.Event) -> int:
        """SQLite's way through a backlog: while one batch is in flight to the broker,
        the next (the rows after it) is read, so the broker is not idle while the relay
        reads; one batch is sent at a time, and each is marked before the next is sent.
        Returns how many were accepted in the last batch (a full batch: more may wait)."""
        rows = await self._read(after=None)
        published = 0
        while rows:
            sending = asyncio.create_task(self._send(rows))
            try:
                ahead = await self._read(after=rows[-1].position) if not stop.is_set() else []
            except asyncio.CancelledError:
                sending.cancel()
                raise
            except Exception:  # the batch in flight is still marked; the next loop reads again
                log.exception("outbox.relay_error")
                ahead = []
            failed, error = await sending
            async with self.db.transaction() as session:
                published = await self._mark(session, rows, failed, error)
            if len(rows) < self.batch_size:
                break
            rows = ahead
        return published

    async def _read(self, *, after: int | None) -> Sequence[sa.Row]:
        query = self._pending(datetime.now(UTC))
        if after is not None:
            query = query.where(self.table.c.position > after)
        async with self.db.sessionmaker() as session:
            return (await session.execute(query)).all()

    async def _publish(self, session: AsyncSession, rows: Sequence[sa.Row]) -> int:
        failed, error = await self._send(rows)
        return await self._mark(session, rows, failed, error)

    async def _send(self, rows: Sequence[sa.Row]) -> tuple[set[str], str]:
        """The rows' events to the broker: (ids it did not accept, why)."""
        envelopes = [Envelope.from_json(r.body) for r in rows]
        failed: set[str] = set()
        error = ""
        async with self._publishing:
            started = time.perf_counter()
            with telemetry.publish_spans(self.service, envelopes) as spans:
                try:
                    await self.bus.publish(envelopes)
                except PublishError as exc:
                    failed, error = set(exc.failed_ids), str(exc)
                except Exception as exc:  # broker unreachable: the whole batch waits
                    failed, error = {e.id for e in envelopes}, f"{type(exc).__name__}: {exc}"
                telemetry.failed(spans, envelopes, failed, error)
        OUTBOX_BATCH_SECONDS.labels(self.service).observe(time.perf_counter() - started)
        return failed, error

    async def _mark(
        self, session: AsyncSession, rows: Sequence[sa.Row], failed: set[str], error: str
    ) -> int:
        """Published rows marked, failed ones given their next attempt; returns how many
        the broker accepted."""
        t = self.table
        now = datetime.now(UTC)
        ok = [r.position for r in rows if r.event_id not in failed]
        if ok:
            await session.execute(
                t.update().where(t.c.position.in_(ok)).values(published_at=now, last_error=None)
            )
            OUTBOX_PUBLISHED.labels(self.service).inc(len(ok))
        # the failed rows: one UPDATE per number of attempts (all of them, usually)
        retry: dict[int, list[int]] = {}
        for r in rows:
            if r.event_id in failed:
                retry.setdefault(r.attempts + 1, []).append(r.position)
        for attempts, positions in retry.items():
            await session.execute(
                t.update()
                .where(t.c.position.in_(positions))
                .values(
                    attempts=attempts,
                    next_attempt_at=now + _backoff(attempts),
                    last_error=error[:500],
                )
            )
        if failed:
            OUTBOX_FAILURES.labels(self.service).inc(len(failed))
            log.warning(
                "outbox.publish_failed", failed=len(failed), published=len(ok), error=error[:200]
            )
        return len(ok)

    async def stats(self) -> tuple[int, float]:
        """(pending count, age in seconds of the oldest pending event)."""
        t = self.table
        async with self.db.sessionmaker() as session:
            count, oldest = (
                await session.execute(
                    sa.select(sa.func.count(), sa.func.min(t.c.created_at)).where(
                        t.c.published_at.is_(None)
                    )
                )
            ).one()
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        lag = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
        return count, max(lag, 0.0)

    async def _housekeeping(self) -> None:
        now = time.monotonic()
        if now - self._last_stats >= 1.0:
            self._last_stats = now
            count, lag = await self.stats()
            OUTBOX_PENDING.labels(self.service).set(count)
            OUTBOX_LAG.labels(self.service).set(lag)
        if now - self._last_cleanup >= 60.0:
            self._last_cleanup = now
            cutoff = datetime.now(UTC) - self.retention
            async with self.db.transaction() as session:
                await session.execute(self.table.delete().where(self.table.c.published_at < cutoff))
