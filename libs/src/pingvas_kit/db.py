"""SQLAlchemy 2.0 async: a SQLite file per service by default, Postgres (one schema per
service) when DATABASE_URL is given."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import overload

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from .settings import ServiceSettings
from .telemetry import instrument_engine


def now() -> datetime:
    """The time to store: timezone-aware UTC."""
    return datetime.now(UTC)


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: None) -> None: ...
@overload
def aware(value: datetime | None) -> datetime | None: ...
def aware(value: datetime | None) -> datetime | None:
    """A stored time as read back: SQLite hands back naive datetimes, and every stored
    time is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


#: SQLSTATEs of a transaction that lost a race and may simply be run again: a deadlock
#: (40P01) and a serialization failure (40001)
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` is Postgres ending a transaction that may succeed when run again (a
    deadlock between concurrent transactions, a serialization failure); SQLite never
    raises these (one writer at a time)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for candidate in (current, getattr(current, "orig", None)):
            code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
            if code in TRANSIENT_SQLSTATES:
                return True
        current = current.__cause__ or current.__context__
    return False


def new_id() -> str:
    return str(uuid.uuid4())


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers run beside the single writer; busy_timeout waits instead of failing
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class Database:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.schema = settings.schema_name
        self.is_postgres = settings.is_postgres
        url = settings.sqlalchemy_url()
        if self.is_postgres:
            self.engine: AsyncEngine = create_async_engine(
                url,
                pool_size=10,
                max_overflow=20,
                pool_pre_ping=True,
                connect_args={"server_settings": {"search_path": self.schema}},
            )
        else:
            self.engine = create_async_engine(url, connect_args={"timeout": 30})
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        instrument_engine(self.engine)  # database spans, when spans are sent
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time; concurrent writers in one process would
        # otherwise meet in SQLite's busy handler, which sleeps up to 100 ms per retry
        self._write_lock = None if self.is_postgres else asyncio.Lock()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self, *, savepoints: bool = False) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error.

        `savepoints=True` when the body uses `session.begin_nested()`. On SQLite the
        transaction is then begun explicitly (BEGIN IMMEDIATE): Python's sqlite3 only
        begins one before its first INSERT/UPDATE/DELETE, so a SAVEPOINT coming first
        would open the transaction itself and its RELEASE would commit it."""
        if self._write_lock is None:
            async with self.sessionmaker() as session, session.begin():
                yield session
            return
        async with self._write_lock, self.sessionmaker() as session, session.begin():
            if savepoints:
                connection = await session.connection()
                await connection.exec_driver_sql("BEGIN IMMEDIATE")
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
