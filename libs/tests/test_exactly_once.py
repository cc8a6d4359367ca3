"""At-least-once delivery + outbox + inbox = exactly-once effects.

Against the real emulator server (moto) and the real RabbitMQ, on SQLite and Postgres:
the relay is SIGKILLed in the middle of a batch (so part of the batch reaches the broker
and none of it is marked published), every batch is then published twice, and the
consumer sees every delivery twice. The consumer's totals must still equal what one
clean delivery of each event would give."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import ClassVar

import pytest
import sqlalchemy as sa
from exo_support import (
    add_to_totals,
    create_tables,
    inbox,
    job_data,
    jobs,
    make_settings,
    outbox,
    topology_for,
    totals,
)

from pingvas_contracts import ContractError, EventData, InvalidEventData
from pingvas_contracts.events.render import JobCompleted
from pingvas_kit.bus import Bus, make_bus
from pingvas_kit.db import Database
from pingvas_kit.inbox import EventConsumer
from pingvas_kit.outbox import Outbox, OutboxRelay


class NoSuchEvent(EventData):
    """An event model no contract registered."""

    TYPE: ClassVar[str] = "pingvas.render.no_such_event.v1"


HERE = Path(__file__).parent
N_EVENTS = 120
TENANTS = ("t-alpha", "t-beta", "t-gamma")


class TwiceBus:
    """Publishes every batch twice (as a relay retrying after a lost ack would)."""

    def __init__(self, inner: Bus) -> None:
        self.inner = inner

    async def publish(self, envelopes):
        await self.inner.publish(envelopes)
        await self.inner.publish(envelopes)


@pytest.fixture(params=["sqs", "amqp"])
def bus_config(request: pytest.FixtureRequest, bus_prefix: str) -> dict:
    if request.param == "sqs":
        endpoint = request.getfixturevalue("moto_endpoint")
        return {
            "bus": "sqs",
            "aws_endpoint_url": endpoint,
            "bus_prefix": bus_prefix,
            "bus_wait_seconds": 1,
        }
    url = request.getfixturevalue("amqp_url")
    return {"bus": "amqp", "amqp_url": url, "bus_prefix": bus_prefix}


async def produce(db: Database, out: Outbox) -> dict[str, int]:
    expected = dict.fromkeys(TENANTS, 0)
    for i in range(N_EVENTS):
        tenant, credits = TENANTS[i % 3], 1 + i % 7
        job_id = str(uuid.uuid4())
        async with db.transaction() as session:
            await session.execute(
                jobs.insert().values(id=job_id, tenant_id=tenant, credits=credits)
            )
            await out.add(session, job_data(job_id, credits), tenant_id=tenant)
        expected[tenant] += credits
    return expected


async def read_totals(db: Database) -> dict[str, tuple[int, int]]:
    async with db.sessionmaker() as session:
        rows = (await session.execute(sa.select(totals))).all()
    return {r.tenant_id: (r.credits, r.events) for r in rows}


@pytest.mark.parametrize("db_backend", ["sqlite", "postgres"], indirect=True)
async def test_duplicates_and_a_killed_relay_still_apply_each_event_once(
    db_backend: dict, bus_config: dict
) -> None:
    config = db_backend | bus_config
    settings = make_settings(config)
    db = Database(settings)
    await create_tables(db)
    topology = topology_for(config["bus_prefix"])
    bus = make_bus(settings, topology)
    await bus.start()
    try:
        await bus.provision()
        expected = await produce(db, Outbox(outbox, source="producer"))

        # 1. a relay in a child process publishes 1.5 batches, then is SIGKILLed mid-batch
        victim = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE / "relay_victim.py"),
            json.dumps(config, default=str),
            config["bus_prefix"],
            "35",
            "25",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(victim.communicate(), 60)
        assert victim.returncode == -9, stderr.decode()[-2000:]
        async with db.sessionmaker() as session:
            marked = (
                await session.execute(
                    sa.select(sa.func.count()).where(outbox.c.published_at.is_not(None))
                )
            ).scalar_one()
        assert marked == 25  # the first batch; the half-published second one is not marked

        # 2. a new relay finishes the job, publishing every batch twice
        relay = OutboxRelay(db, TwiceBus(bus), outbox, service="producer", batch_size=25)  # type: ignore[arg-type]
        while await relay.relay_once():
            pass
        assert (await relay.stats())[0] == 0

        # 3. the consumer handles every delivery twice
        consumer = EventConsumer("ledger", db, inbox)

        @consumer.on(JobCompleted)
        async def add_credits(session, event, data) -> None:  # noqa: ANN001
            await add_to_totals(session, event.tenantid, data.credits_used)

        deliveries = 0

        async def twice(envelope) -> None:
            nonlocal deliveries
            deliveries += 1
            await consumer(envelope)
            await consumer(envelope)

        stop = asyncio.Event()
        task = asyncio.create_task(bus.consume("ledger", twice, stop=stop))
        # the victim published 35 (25 marked + 10 not), the second relay the other 95
        # twice: at least 225 deliveries for 120 events
        published = 35 + 2 * (N_EVENTS - 25)
        want = {t: (c, N_EVENTS // 3) for t, c in expected.items()}
        for _ in range(300):
            if await read_totals(db) == want and deliveries >= published:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # let any straggling duplicate arrive
        stop.set()
        await asyncio.wait_for(task, 30)

        assert await read_totals(db) == want
        assert deliveries >= published  # the duplicates really did arrive
        async with db.sessionmaker() as session:
            processed = (
                await session.execute(sa.select(sa.func.count()).select_from(inbox))
            ).scalar_one()
        assert processed == N_EVENTS
        assert await bus.dead_letters("ledger") == []
    finally:
        await bus.purge("ledger")
        await bus.close()
        await db.dispose()


@pytest.mark.parametrize("db_backend", ["sqlite", "postgres"], indirect=True)
async def test_an_event_failing_its_schema_raises_before_commit(db_backend: dict) -> None:
    db = Database(make_settings(db_backend))
    await create_tables(db)
    out = Outbox(outbox, source="producer")
    # built without validation, as a careless caller could: the outbox checks it again
    bad = JobCompleted.model_construct(**(job_data("j-1", 3).model_dump() | {"credits_used": -1}))
    with pytest.raises(InvalidEventData) as err:
        async with db.transaction() as session:
            await session.execute(jobs.insert().values(id="j-1", tenant_id="t", credits=3))
            await out.add(session, bad, tenant_id="t")
    assert "credits_used" in str(err.value) and "-1" not in str(err.value)
    async with db.sessionmaker() as session:
        assert (
            await session.execute(sa.select(sa.func.count()).select_from(jobs))
        ).scalar_one() == 0
        assert (
            await session.execute(sa.select(sa.func.count()).select_from(outbox))
        ).scalar_one() == 0
    with pytest.raises(ContractError):
        async with db.transaction() as session:
            await out.add(session, NoSuchEvent(), tenant_id="t")
    await db.dispose()
