"""Inbox: a consumer's effect and the id of the event that caused it commit together,
so a redelivered event changes nothing.

The bus hands a consumer each received batch (`EventConsumer.handle_batch`), applied
in one transaction: the batch's inbox rows in one INSERT, then each new event's handler.
If anything in it fails, it is rolled back whole and the batch applied again with a
savepoint per event: an event whose handler raises then rolls back its savepoint only
(its inbox row, its effect and the after-commit hooks it staged) and is left for
redelivery, while the others commit together and are acknowledged. A crash before the
commit applies none of them, and the bus redelivers them all. A handler may so run
twice for one delivery (once rolled back): its effects outside the database must be
idempotent, as they must be for redeliveries anyway.

Batches handled side by side may deadlock on the rows they both update (two events of
one tenant in each); Postgres then ends one transaction, which is run again whole
(a few times, after a short jittered pause) instead of being left for redelivery."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, cast, overload

import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts import Envelope, EventData, validate_envelope

from .db import Database, is_transient
from .logging import bound_contextvars, get_logger
from .telemetry import consumer_span

log = get_logger("pingvas.inbox")

E = TypeVar("E", bound=EventData)
E2 = TypeVar("E2", bound=EventData)
E3 = TypeVar("E3", bound=EventData)
E4 = TypeVar("E4", bound=EventData)
#: a handler gets the open transaction, the envelope and the event's data, parsed into
#: its contract model
Handler = Callable[[AsyncSession, Envelope, E], Awaitable[None]]
EventHandler = Handler[Any]
#: what `EventConsumer.handle` did with one event
Outcome = Literal["applied", "duplicate", "no_handler"]

PROCESSED = Counter("pingvas_inbox_processed_total", "Events applied", ["consumer", "type"])
DUPLICATES = Counter(
    "pingvas_inbox_duplicates_total", "Redelivered events skipped by the inbox", ["consumer"]
)


#: how many times a transaction that lost a race (a deadlock with a batch handled beside
#: it, a serialization failure) runs again before its events are left for redelivery
TRANSIENT_RETRIES = 4
LOST_RACES = Counter(
    "pingvas_inbox_transaction_retries_total",
    "Inbox transactions run again after a deadlock or serialization failure",
    ["consumer"],
)


async def _lost_race(consumer: str, attempt: int, exc: Exception, events: int) -> None:
    """Count and log a transaction that lost a race, then wait a little (more each time,
    with jitter, so the two sides do not meet again in step)."""
    LOST_RACES.labels(consumer).inc()
    log.info(
        "inbox.transaction_retried",
        consumer=consumer,
        attempt=attempt + 1,
        events=events,
        error=type(exc).__name__,
    )
    await asyncio.sleep(random.uniform(0.01, 0.05 * 2**attempt))  # noqa: S311 - jitter


class EventConsumer:
    """Routes events by type to handlers, each run in the transaction of its inbox row.

        consumer = EventConsumer("billing", db, inbox)

        @consumer.on(TenantCreated)
        async def grant_free_plan(session: AsyncSession, event: Envelope, data: TenantCreated): ...

    A handler registered for several models gets whichever one the event carries (type
    its data as their union). It runs inside a savepoint of the batch's transaction: it
    must not commit or roll back the session itself (nor open its own write transaction
    on the same database); raising is how it says "not now".
    """

    def __init__(self, name: str, db: Database, table: sa.Table) -> None:
        self.name = name
        self.db = db
        self.table = table
        self.handlers: dict[str, EventHandler] = {}
        #: the event ids of the rows it wrote (not those already there)
        self._insert_returning = self._insert().returning(self.table.c.event_id)

    # one overload per arity, so that a handler of several models is typed by their union
    @overload
    def on(self, m1: type[E], /) -> Callable[[Handler[E]], Handler[E]]: ...
    @overload
    def on(self, m1: type[E], m2: type[E2], /) -> Callable[[Handler[E | E2]], Handler[E | E2]]: ...
    @overload
    def on(
        self, m1: type[E], m2: type[E2], m3: type[E3], /
    ) -> Callable[[Handler[E | E2 | E3]], Handler[E | E2 | E3]]: ...
    @overload
    def on(
        self, m1: type[E], m2: type[E2], m3: type[E3], m4: type[E4], /
    ) -> Callable[[Handler[E | E2 | E3 | E4]], Handler[E | E2 | E3 | E4]]: ...
    def on(self, *models: type[EventData]) -> Callable[[EventHandler], EventHandler]:
        if not models:
            raise TypeError(f"{self.name}: on() needs at least one event model")
        for model in models:
            if not (isinstance(model, type) and issubclass(model, EventData)):
                raise TypeError(
                    f"{self.name}: on() takes event models from pingvas_contracts, not {model!r}"
                )

        def register(fn: EventHandler) -> EventHandler:
            for model in models:
                if model.TYPE in self.handlers:
                    raise ValueError(f"{self.name}: two handlers for {model.TYPE}")
                self.handlers[model.TYPE] = fn
            return fn

        return register

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(sorted(self.handlers))

    def _insert(self) -> Any:
        insert = pg_insert if self.db.is_postgres else sqlite_insert
        return insert(self.table).on_conflict_do_nothing(index_elements=["consumer", "event_id"])

    def _row(self, envelope: Envelope) -> dict[str, Any]:
        return {
            "consumer": self.name,
            "event_id": envelope.id,
            "type": envelope.type,
            "tenant_id": envelope.tenantid,
            "processed_at": datetime.now(UTC),
        }

    async def handle(self, session: AsyncSession, envelope: Envelope) -> Outcome:
        """One event inside `session`'s open transaction (or savepoint): its inbox row,
        then `apply`. "duplicate" when the inbox already holds it (committed before, or
        earlier in this transaction). Raises what the handler raises; the caller rolls
        back and leaves the event for redelivery. Counts nothing: the caller does once
        the transaction committed (`count`)."""
        if envelope.type not in self.handlers:
            return await self.apply(session, envelope)  # says no_handler
        result = await session.execute(self._insert().values(self._row(envelope)))
        # an INSERT's result is a CursorResult: it has the rows it wrote
        if cast(sa.CursorResult[Any], result).rowcount == 0:
            return self._duplicate(envelope)
        return await self.apply(session, envelope)

    async def apply(self, session: AsyncSession, envelope: Envelope) -> Outcome:
        """Run the event's handler in `session` (its inbox row already written), with
        the event's trace and log context."""
        handler = self.handlers.get(envelope.type)
        if handler is None:
            # the subscription filter should never let this through; acknowledge it
            log.warning("inbox.no_handler", type=envelope.type, event_id=envelope.id)
            return "no_handler"
        data: EventData = validate_envelope(envelope)
        # the handling span is a child of the producer's (the envelope's traceparent)
        with consumer_span(self.name, envelope):
            with bound_contextvars(
                tenant_id=envelope.tenantid, event_id=envelope.id, event_type=envelope.type
            ):
                await handler(session, envelope, data)
        return "applied"

    def _duplicate(self, envelope: Envelope) -> Outcome:
        # a redelivery gets a span of its own in the event's trace, marked as skipped
        with consumer_span(self.name, envelope) as current:
            current.set_attribute("pingvas.inbox.duplicate", True)
            log.info("inbox.duplicate_skipped", event_id=envelope.id, event_type=envelope.type)
        return "duplicate"

    def count(self, envelope: Envelope, outcome: Outcome) -> None:
        """The metrics of one event whose transaction committed."""
        if outcome == "applied":
            PROCESSED.labels(self.name, envelope.type).inc()
        elif outcome == "duplicate":
            DUPLICATES.labels(self.name).inc()

    async def __call__(self, envelope: Envelope) -> None:
        """One event in a transaction of its own (the bus's per-message handler form)."""
        for attempt in itertools.count():
            try:
                async with self.db.transaction() as session:
                    outcome = await self.handle(session, envelope)
            except Exception as exc:
                if attempt < TRANSIENT_RETRIES and is_transient(exc):
                    await _lost_race(self.name, attempt, exc, 1)
                    continue
                raise
            self.count(envelope, outcome)
            return

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> list[Exception | None]:
        """A received batch in one transaction. Returns, in order, None for each event
        to acknowledge (applied, duplicate or without a handler) and the exception of
        each to leave for redelivery. Raises, so that the bus leaves every one of them
        for redelivery, if the transaction itself fails (the commit, the connection);
        a batch of one answers that failure as its outcome instead."""
        if len(envelopes) == 1:
            try:
                await self(envelopes[0])
            except Exception as exc:  # noqa: BLE001 - rolled back: redelivered
                return [exc]
            return [None]
        for attempt in itertools.count():
            if not envelopes:
                break
            try:
                async with self.db.transaction() as session:
                    outcomes = await self._apply_together(session, envelopes)
            except Exception as exc:  # noqa: BLE001 - rolled back whole: again, one by one
                if attempt < TRANSIENT_RETRIES and is_transient(exc):
                    await _lost_race(self.name, attempt, exc, len(envelopes))
                    continue  # a race with a batch beside it: the same batch again
                log.info(
                    "inbox.batch_retried_with_savepoints",
                    events=len(envelopes),
                    error=type(exc).__name__,
                )
                break
            for envelope, outcome in zip(envelopes, outcomes, strict=True):
                self.count(envelope, outcome)
            return [None] * len(envelopes)
        for attempt in itertools.count():
            try:
                return await self._apply_each(envelopes, retrying=attempt < TRANSIENT_RETRIES)
            except Exception as exc:
                if attempt < TRANSIENT_RETRIES and is_transient(exc):
                    await _lost_race(self.name, attempt, exc, len(envelopes))
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _apply_together(
        self, session: AsyncSession, envelopes: Sequence[Envelope]
    ) -> list[Outcome]:
        """The happy path: every inbox row in one INSERT, then each new event's handler,
        no savepoint; the first failure fails it all."""
        handled = [e for e in envelopes if e.type in self.handlers]
        new: set[str] = set()
        if handled:
            rows = list({e.id: self._row(e) for e in handled}.values())
            # one statement for them all (SQLAlchemy's "insertmanyvalues": one compiled,
            # cached INSERT ... VALUES (...), (...) RETURNING, the rows as parameters)
            result = await session.execute(self._insert_returning, rows)
            new = set(result.scalars())
        outcomes: list[Outcome] = []
        for envelope in envelopes:
            if envelope.type not in self.handlers:
                outcomes.append(await self.apply(session, envelope))  # no_handler
            elif envelope.id in new:
                new.discard(envelope.id)  # a second copy in this batch is a duplicate
                outcomes.append(await self.apply(session, envelope))
            else:
                outcomes.append(self._duplicate(envelope))
        return outcomes

    async def _apply_each(
        self, envelopes: Sequence[Envelope], *, retrying: bool
    ) -> list[Exception | None]:
        """One transaction, a savepoint per event: a failing event rolls back alone. An
        event that lost a race (`retrying`) rolls the whole transaction back instead, so
        that its locks go and the caller runs it all again."""
        errors: list[Exception | None] = []
        committed: list[tuple[Envelope, Outcome]] = []
        async with self.db.transaction(savepoints=True) as session:
            for envelope in envelopes:
                try:
                    async with session.begin_nested():
                        outcome = await self.handle(session, envelope)
                except Exception as exc:  # noqa: BLE001 - this event only: redelivered
                    if retrying and is_transient(exc):
                        raise
                    errors.append(exc)
                    continue
                errors.append(None)
                committed.append((envelope, outcome))
        for envelope, outcome in committed:
            self.count(envelope, outcome)
        return errors
