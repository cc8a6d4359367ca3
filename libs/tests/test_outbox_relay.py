"""The relay when the broker is away: nothing is lost, attempts back off, the lag shows."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from exo_support import create_tables, job_data, jobs, make_settings, outbox, topology_for
from prometheus_client import REGISTRY

from pingvas_kit.bus.sqs import SqsBus
from pingvas_kit.db import Database
from pingvas_kit.outbox import Outbox, OutboxRelay
from pingvas_kit.ports import free_port


def sqs_bus(topology, endpoint: str) -> SqsBus:  # noqa: ANN001
    return SqsBus(
        topology,
        endpoint_url=endpoint,
        region="us-east-1",
        access_key_id="test",
        secret_access_key="test",
        wait_seconds=1,
        max_attempts=1,
    )


async def test_a_broker_outage_delays_events_and_loses_none(
    tmp_path,
    moto_endpoint: str,
    bus_prefix: str,  # noqa: ANN001
) -> None:
    db = Database(make_settings({"var_dir": tmp_path}))
    await create_tables(db)
    out = Outbox(outbox, source="producer")
    async with db.transaction() as session:
        for i in range(12):
            await session.execute(jobs.insert().values(id=f"j{i}", tenant_id="t", credits=1))
            await out.add(session, job_data(f"j{i}", 1), tenant_id="t")

    topology = topology_for(bus_prefix)
    dead = sqs_bus(topology, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    await dead.start()
    relay = OutboxRelay(db, dead, outbox, service="relaytest", batch_size=5)
    assert await relay.relay_once() == 0
    async with db.sessionmaker() as session:
        rows = (await session.execute(sa.select(outbox).order_by(outbox.c.position))).all()
    failed = [r for r in rows if r.attempts == 1]
    assert len(failed) == 5  # the batch it tried
    for r in failed:
        assert r.published_at is None and r.last_error
        retry_at = (
            r.next_attempt_at if r.next_attempt_at.tzinfo else r.next_attempt_at.replace(tzinfo=UTC)
        )
        assert retry_at > datetime.now(UTC)
    pending, lag = await relay.stats()
    assert pending == 12 and lag >= 0
    # the alert's gauge: the oldest unpublished event's age (made 90 s old here)
    async with db.transaction() as session:
        await session.execute(
            outbox.update().values(created_at=datetime.now(UTC) - timedelta(seconds=90))
        )
    await relay._housekeeping()
    assert REGISTRY.get_sample_value("pingvas_outbox_pending", {"service": "relaytest"}) == 12
    lag_now = REGISTRY.get_sample_value("pingvas_outbox_lag_seconds", {"service": "relaytest"})
    assert lag_now is not None and 90 <= lag_now < 150
    await dead.close()

    # the broker is back: the rows not yet due go first, the failed batch once its back-off passes
    live = sqs_bus(topology, moto_endpoint)
    await live.start()
    await live.provision()
    relay = OutboxRelay(db, live, outbox, service="relaytest", batch_size=5)
    published = 0
    for _ in range(50):
        published += await relay.relay_once()
        if published == 12:
            break
        await asyncio.sleep(0.1)
    assert published == 12
    assert (await relay.stats())[0] == 0
    got = []
    while batch := await _drain(live, topology.queue_name("ledger")):
        got += batch
    assert sorted(got) == sorted(f"j{i}" for i in range(12))
    await live.close()
    await db.dispose()


async def _drain(bus: SqsBus, queue_name: str) -> list[str]:
    url = await bus._queue_url(queue_name)
    response = await bus._sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
    )
    messages = response.get("Messages", [])
    if messages:
        await bus._sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )
    return [json.loads(m["Body"])["data"]["job_id"] for m in messages]
