"""Shared by the exactly-once tests and the relay that gets killed in a child process:
a producer service (jobs + outbox) and a consumer service (inbox + totals)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from pydantic_settings import SettingsConfigDict

from pingvas_contracts import ServiceSpec, example
from pingvas_contracts.events.render import JobCompleted
from pingvas_kit.bus import Bus, build_topology
from pingvas_kit.db import Database
from pingvas_kit.messaging import inbox_table, outbox_table
from pingvas_kit.settings import ServiceSettings

TYPE = JobCompleted.TYPE
PRODUCER = ServiceSpec(
    name="producer", context="render", description="test producer", publishes=(TYPE,)
)
CONSUMER = ServiceSpec(name="ledger", context=None, description="test consumer", consumes=(TYPE,))

metadata = sa.MetaData()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("credits", sa.Integer, nullable=False),
)
totals = sa.Table(
    "totals",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("credits", sa.Integer, nullable=False),
    sa.Column("events", sa.Integer, nullable=False),
)


class ExoSettings(ServiceSettings):
    service_name = "exo"
    model_config = SettingsConfigDict(env_prefix="EXO_TEST_")


def make_settings(config: dict[str, Any]) -> ExoSettings:
    return ExoSettings(**{k: v for k, v in config.items() if k in ExoSettings.model_fields})


def topology_for(prefix: str):
    return build_topology(
        {"producer": PRODUCER, "ledger": CONSUMER}, prefix=prefix, max_receive_count=5
    )


async def add_to_totals(session, tenant_id: str, credits: int) -> None:  # noqa: ANN001
    """The consumer's effect: an atomic upsert, safe under concurrent handlers."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(totals).values(tenant_id=tenant_id, credits=credits, events=1)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["tenant_id"],
            set_={
                "credits": totals.c.credits + stmt.excluded.credits,
                "events": totals.c.events + 1,
            },
        )
    )


async def create_tables(db: Database) -> None:
    async with db.engine.begin() as conn:
        if db.is_postgres:
            await conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{db.schema}"'))
        await conn.run_sync(metadata.create_all)


def job_data(job_id: str, credits: int) -> JobCompleted:
    return example(
        JobCompleted,
        job_id=job_id,
        user_id="u-1",
        image_ids=[f"img-{job_id}"],
        credits_reserved=credits,
        credits_used=credits,
    )


class DyingBus(Bus):
    """Publishes the first `die_after` envelopes of the relay's batches, then SIGKILLs
    its own process in the middle of a batch: the broker has some of the batch, the
    outbox has marked none of it."""

    def __init__(self, inner: Bus, die_after: int) -> None:
        super().__init__(inner.topology)
        self.inner = inner
        self.left = die_after

    async def publish(self, envelopes):
        import os
        import signal

        if len(envelopes) > self.left:
            await self.inner.publish(envelopes[: self.left])
            os.kill(os.getpid(), signal.SIGKILL)
        self.left -= len(envelopes)
        await self.inner.publish(envelopes)

    async def start(self): ...
    async def close(self): ...
    async def ping(self): ...
    async def provision(self): ...
    async def consume(self, consumer, handler, *, stop): ...
    async def dead_letters(self, consumer, *, max_messages=10):
        return []

    async def purge(self, consumer): ...


def dump_config(config: dict[str, Any]) -> str:
    return json.dumps({k: (str(v) if v is not None else None) for k, v in config.items()})
