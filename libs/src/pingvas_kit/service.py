"""One service process: its database, bus, outbox relay and event consumer, wired once.

    runtime = ServiceRuntime(SERVICE, settings, metadata=metadata, migrations=MIGRATIONS)

    @runtime.consumer.on(TenantCreated)
    async def on_tenant_created(session, event, data: TenantCreated): ...

`create_app(runtime, ...)` (pingvas_kit.http) starts and stops it with the web app."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from pingvas_contracts import Envelope, EventData, ServiceSpec

from .bus import Bus, build_topology, make_bus
from .bus.base import watch_dead_letters
from .db import Database
from .inbox import EventConsumer
from .logging import get_logger
from .migrations import upgrade
from .outbox import Outbox, OutboxRelay
from .settings import ServiceSettings

log = get_logger("pingvas.service")

_AFTER_COMMIT = "pingvas_after_commit"


@sa_event.listens_for(Session, "after_commit")
def _run_after_commit_hooks(session: Session) -> None:
    if session.in_nested_transaction():
        return  # SQLAlchemy sends after_commit for a savepoint's release too: no commit
    hooks = session.info.pop(_AFTER_COMMIT, [])
    for hook in dict.fromkeys(hook for _, hook in hooks):  # each distinct hook once
        hook()


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back_hooks(session: Session, previous: SessionTransaction) -> None:
    # every rollback, savepoints included: drop the hooks staged inside the transaction
    # (or savepoint) that rolled back, keep those of the savepoints beside it
    hooks = session.info.get(_AFTER_COMMIT)
    if hooks:
        hooks[:] = [(txn, hook) for txn, hook in hooks if not _within(txn, previous)]


@sa_event.listens_for(Session, "after_rollback")
def _drop_after_commit_hooks(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's: after_soft_rollback's part
        session.info.pop(_AFTER_COMMIT, None)


def _within(txn: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while txn is not None:
        if txn is outer:
            return True
        txn = txn.parent
    return False


def after_commit(session: AsyncSession, hook: Callable[[], None]) -> None:
    """Run `hook()` once the session's transaction commits (never after a rollback): to
    wake a local worker for what the transaction staged. Staged inside a savepoint (an
    event of a batch, see EventConsumer.handle_batch), it is dropped if that savepoint
    rolls back, and runs once the outer transaction commits otherwise."""
    sync = session.sync_session
    txn = sync.get_nested_transaction() or sync.get_transaction()
    sync.info.setdefault(_AFTER_COMMIT, []).append((txn, hook))


class _WakingOutbox(Outbox):
    """An outbox that wakes the local relay as soon as the writing transaction commits."""

    def __init__(self, table: sa.Table, *, source: str, relay: OutboxRelay | None = None) -> None:
        super().__init__(table, source=source)
        self.relay = relay

    async def add(
        self,
        session: AsyncSession,
        data: EventData,
        *,
        tenant_id: str | None,
        subject: str | None = None,
        event_id: str | None = None,
    ) -> Envelope:
        envelope = await super().add(
            session, data, tenant_id=tenant_id, subject=subject, event_id=event_id
        )
        if self.relay is not None:
            after_commit(session, self.relay.wake)
        return envelope


class ServiceRuntime:
    def __init__(
        self,
        spec: ServiceSpec,
        settings: ServiceSettings,
        *,
        metadata: sa.MetaData,
        migrations: Path | None,
    ) -> None:
        # in production: exit now, naming each missing or public secret (SECURITY.md)
        settings.require_secrets()
        self.spec = spec
        self.settings = settings
        self.migrations = migrations
        self.db = Database(settings)
        self.topology = build_topology(
            {spec.name: spec},
            prefix=settings.bus_prefix,
            max_receive_count=settings.bus_max_receive_count,
            visibility_timeout=settings.bus_visibility_timeout,
        )
        self.outbox = _WakingOutbox(metadata.tables["outbox"], source=spec.name)
        self.consumer = EventConsumer(spec.name, self.db, metadata.tables["inbox"])
        self.bus: Bus | None = None
        self.relay: OutboxRelay | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    async def migrate(self) -> None:
        """Bring this service's schema to head and stop: `python -m pingvas_<service>
        migrate`, the chart's pre-upgrade Job (the Deployments then run with
        <SERVICE>_RUN_MIGRATIONS=false)."""
        try:
            if self.migrations is not None:
                await upgrade(self.db, self.migrations)
        finally:
            await self.db.dispose()

    async def start(self, *, provision: bool = True) -> None:
        extra = set(self.consumer.types) - set(self.spec.consumes)
        if extra:
            raise RuntimeError(
                f"{self.spec.name}: handlers for undeclared event types {sorted(extra)}"
            )
        # A declared type without a handler yet (its feature has not landed): do not
        # consume at all, so its events wait in the queue instead of being dropped.
        missing = sorted(set(self.spec.consumes) - set(self.consumer.types))
        if self.settings.run_migrations and self.migrations is not None:
            await upgrade(self.db, self.migrations)
        self._stop.clear()
        if self.spec.publishes or self.spec.consumes:
            self.bus = make_bus(self.settings, self.topology)
            await self.bus.start()
            if provision and self.settings.bus_provision:
                await self.bus.provision()
        if self.bus and self.spec.publishes:
            self.relay = OutboxRelay(
                self.db,
                self.bus,
                self.outbox.table,
                service=self.spec.name,
                batch_size=self.settings.relay_batch_size,
                poll_interval=self.settings.relay_poll_interval,
            )
            self.outbox.relay = self.relay
            if self.settings.run_relay:
                self._tasks.append(
                    asyncio.create_task(self.relay.run(self._stop), name="outbox-relay")
                )
        if self.bus and self.spec.consumes and missing:
            log.warning("service.consumer_waiting", reason="no handler yet", types=missing)
        elif self.bus and self.spec.consumes and self.settings.run_consumers:
            self._tasks.append(
                asyncio.create_task(
                    self.bus.consume(self.spec.name, self.consumer, stop=self._stop),
                    name="consumer",
                )
            )
            self._tasks.append(
                asyncio.create_task(
                    watch_dead_letters(self.bus, self.spec.name, stop=self._stop),
                    name="dead-letter-depth",
                )
            )
        log.info(
            "service.started", publishes=len(self.spec.publishes), consumes=len(self.spec.consumes)
        )

    async def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._tasks:
            done, pending = await asyncio.wait(self._tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for task in done:
                if not task.cancelled() and task.exception():
                    log.error(
                        "service.task_failed", task=task.get_name(), error=repr(task.exception())
                    )
        self._tasks.clear()
        if self.bus:
            await self.bus.close()
            self.bus = None
        await self.db.dispose()
        log.info("service.stopped")

    async def check_ready(self) -> dict[str, str]:
        """{'database': 'ok'|error, 'bus': 'ok'|error}; used by /readyz."""
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(self.db.ping(), 3)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = type(exc).__name__
        if self.bus is not None:
            try:
                await asyncio.wait_for(self.bus.ping(), 3)
                checks["bus"] = "ok"
            except Exception as exc:
                checks["bus"] = type(exc).__name__
        return checks


S = TypeVar("S", bound=ServiceSettings)


@dataclass
class ServiceContext(Generic[S]):
    """What a service's routes work with, built once in its app.py: the runtime, with its
    settings and database at hand. A service subclasses it with its own parts:

        @dataclass
        class Context(ServiceContext[Settings]):
            passwords: Passwords
    """

    runtime: ServiceRuntime

    @property
    def settings(self) -> S:
        return self.runtime.settings  # type: ignore[return-value]

    @property
    def db(self) -> Database:
        return self.runtime.db
