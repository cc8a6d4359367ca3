"""Inbox: a consumer's effect and the id of the event that caused it commit together,
so a redelivered event changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast, overload

import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts import Envelope, EventData, validate_envelope

from .db import Database
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

PROCESSED = Counter("pingvas_inbox_processed_total", "Events applied", ["consumer", "type"])
DUPLICATES = Counter(
    "pingvas_inbox_duplicates_total", "Redelivered events skipped by the inbox", ["consumer"]
)


class EventConsumer:
    """Routes events by type to handlers, each run in one transaction with the inbox row.

        consumer = EventConsumer("billing", db, inbox)

        @consumer.on(TenantCreated)
        async def grant_free_plan(session: AsyncSession, event: Envelope, data: TenantCreated): ...

    A handler registered for several models gets whichever one the event carries (type
    its data as their union).
    """

    def __init__(self, name: str, db: Database, table: sa.Table) -> None:
        self.name = name
        self.db = db
        self.table = table
        self.handlers: dict[str, EventHandler] = {}

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

    async def __call__(self, envelope: Envelope) -> None:
        handler = self.handlers.get(envelope.type)
        if handler is None:
            # the subscription filter should never let this through; acknowledge it
            log.warning("inbox.no_handler", type=envelope.type, event_id=envelope.id)
            return
        data: EventData = validate_envelope(envelope)
        # the handling span is a child of the producer's (the envelope's traceparent)
        with consumer_span(self.name, envelope):
            with bound_contextvars(
                tenant_id=envelope.tenantid, event_id=envelope.id, event_type=envelope.type
            ):
                async with self.db.transaction() as session:
                    result = await session.execute(
                        self._insert().values(
                            consumer=self.name,
                            event_id=envelope.id,
                            type=envelope.type,
                            tenant_id=envelope.tenantid,
                            processed_at=datetime.now(UTC),
                        )
                    )
                    # an INSERT's result is a CursorResult: it has the rows it wrote
                    if cast(sa.CursorResult[Any], result).rowcount == 0:
                        DUPLICATES.labels(self.name).inc()
                        log.info("inbox.duplicate_skipped")
                        return
                    await handler(session, envelope, data)
                PROCESSED.labels(self.name, envelope.type).inc()
