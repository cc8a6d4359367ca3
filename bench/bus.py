"""Event bus throughput, end to end, against moto's real server on this machine.

Measures in one run, on the same emulator:
  raw   the emulator alone, driven as the bus drives it: PublishBatch calls (10 events
        each, the relay's concurrency) into the same topic and SQS subscription, while
        receive loops (the consumer's count) take 10 at a time and delete them, with no
        outbox, no decoding and no inbox. Printed as the send rate alone and as the
        sent-and-received rate: the most this transport carries here;
  e2e   events delivered end to end: already committed outbox rows -> relay ->
        SNS -> SQS -> consumer with inbox (one transaction per received batch, a
        savepoint per event), until the last event's effect is committed;
and prints both, their ratio, and the publish-to-effect latency.

    uv run python bench/bus.py [--events 3000] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from aiobotocore.session import get_session
from pydantic_settings import SettingsConfigDict
from tqdm import tqdm

from pingvas_contracts import ServiceSpec, new_envelope
from pingvas_contracts.events.render import JobCompleted
from pingvas_kit.bus import build_topology, make_bus
from pingvas_kit.db import Database
from pingvas_kit.dev.emulator import start_moto_server
from pingvas_kit.inbox import EventConsumer
from pingvas_kit.messaging import inbox_table, outbox_table
from pingvas_kit.outbox import Outbox, OutboxRelay
from pingvas_kit.ports import free_port
from pingvas_kit.settings import ServiceSettings

TYPE = "pingvas.render.job.completed.v1"
PRODUCER = ServiceSpec(name="producer", context="render", description="bench", publishes=(TYPE,))
CONSUMER = ServiceSpec(name="ledger", context=None, description="bench", consumes=(TYPE,))

metadata = sa.MetaData()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
effects = sa.Table(
    "effects",
    metadata,
    sa.Column("event_id", sa.String(128), primary_key=True),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)


class BenchSettings(ServiceSettings):
    service_name = "bench"
    model_config = SettingsConfigDict(env_prefix="BENCH_")


def data(i: int) -> dict:
    return {
        "job_id": f"job-{i}",
        "user_id": "u-1",
        "image_ids": [f"img-{i}"],
        "credits_reserved": 2,
        "credits_used": 2,
        "completed_at": "2026-11-26T10:00:00Z",
    }


async def raw_rates(
    endpoint: str,
    topic_arn: str,
    queue_url: str,
    n: int,
    *,
    publishers: int,
    pollers: int,
    in_flight: int,
) -> tuple[float, float]:
    """The emulator alone, driven the way the bus drives it but with no outbox, no
    decoding and no inbox: PublishBatch calls (10 events each) at the relay's
    concurrency, while `pollers` loops receive 10 at a time and delete them in a batch
    (each loop's next receive overlapping its last `in_flight` deletes, as the bus's do).
    Returns (events/s published, events/s received and deleted)."""
    session = get_session()
    bodies = [
        new_envelope(TYPE, data(i), source="producer", tenant_id="t-raw").to_json()
        for i in range(n)
    ]
    kw = {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
    }
    async with session.create_client("sns", **kw) as sns, session.create_client("sqs", **kw) as sqs:
        sem = asyncio.Semaphore(publishers)
        received = 0
        done = asyncio.Event()

        async def send(chunk: list[str]) -> None:
            async with sem:
                await sns.publish_batch(
                    TopicArn=topic_arn,
                    PublishBatchRequestEntries=[
                        {
                            "Id": str(j),
                            "Message": b,
                            "MessageAttributes": {
                                "type": {"DataType": "String", "StringValue": TYPE}
                            },
                        }
                        for j, b in enumerate(chunk)
                    ],
                )

        async def delete(got: list[dict], slots: asyncio.Semaphore) -> None:
            nonlocal received
            try:
                await sqs.delete_message_batch(
                    QueueUrl=queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(got)
                    ],
                )
            finally:
                slots.release()
            received += len(got)
            if received >= n:
                done.set()

        async def drain() -> None:
            # as the bus's receive loops do: the next long poll starts while the batches
            # received before are deleted, up to batches_in_flight per loop
            slots = asyncio.Semaphore(in_flight)
            deleting = set()
            while not done.is_set():
                await slots.acquire()
                got = (
                    await sqs.receive_message(
                        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                    )
                ).get("Messages", [])
                if not got:
                    slots.release()
                    continue
                task = asyncio.create_task(delete(got, slots))
                deleting.add(task)
                task.add_done_callback(deleting.discard)
            await asyncio.gather(*deleting)

        started = time.perf_counter()
        drainers = [asyncio.create_task(drain()) for _ in range(pollers)]
        await asyncio.gather(*(send(bodies[i : i + 10]) for i in range(0, n, 10)))
        published = time.perf_counter() - started
        await asyncio.wait_for(done.wait(), timeout=max(120, n / 10))
        delivered = time.perf_counter() - started
        # let each receive loop finish its current long poll instead of cancelling it: a
        # poll cancelled on our side still runs in the emulator, and would take up to 10
        # of the end-to-end run's messages and hide them for the visibility timeout
        await asyncio.gather(*drainers)
        await sqs.purge_queue(QueueUrl=queue_url)
    return n / published, n / delivered


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument(
        "--database-url", default=None, help="Postgres URL (default: a SQLite file)"
    )
    parser.add_argument(
        "--endpoint-url", default=None, help="an emulator already running (default: start moto)"
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="pingvas-bench-"))
    moto = None
    endpoint = args.endpoint_url
    if endpoint is None:
        port = free_port()
        moto = start_moto_server(port, tmp / "moto.log")
        endpoint = f"http://127.0.0.1:{port}"
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    settings = BenchSettings(
        var_dir=tmp,
        database_url=args.database_url,
        db_schema=prefix,
        aws_endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        bus_prefix=prefix,
        bus_wait_seconds=1,
    )
    topology = build_topology({"producer": PRODUCER, "ledger": CONSUMER}, prefix=prefix)
    db = Database(settings)
    async with db.engine.begin() as conn:
        if db.is_postgres:
            await conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{prefix}"'))
        await conn.run_sync(metadata.create_all)
    bus = make_bus(settings, topology)
    await bus.start()
    try:
        await bus.provision()
        topic_arn = await bus._topic_arn("render")  # type: ignore[attr-defined]
        queue_url = await bus._queue_url(bus.topology.queue_name("ledger"))  # type: ignore[attr-defined]
        n = args.events
        print(
            f"bench/bus.py: {n} events, moto server at {endpoint}, "
            f"{'Postgres' if db.is_postgres else 'SQLite'} outbox and inbox",
            file=sys.stderr,
        )

        raw_sent, raw = await raw_rates(
            endpoint,
            topic_arn,
            queue_url,
            n,
            publishers=bus.publish_concurrency,
            pollers=bus.pollers,
            in_flight=bus.batches_in_flight,
        )

        out = Outbox(outbox, source="producer")
        started = time.perf_counter()
        for i in tqdm(range(0, n, 100), desc="outbox writes", unit="tx", leave=False):
            async with db.transaction() as session:
                for j in range(i, min(i + 100, n)):
                    await out.add(
                        session, JobCompleted.model_validate(data(j)), tenant_id=f"t-{j % 10}"
                    )
        outbox_rate = n / (time.perf_counter() - started)

        consumer = EventConsumer("ledger", db, inbox)

        @consumer.on(JobCompleted)
        async def apply(session, event, _data) -> None:
            await session.execute(
                effects.insert().values(
                    event_id=event.id, published_at=event.time, applied_at=datetime.now(UTC)
                )
            )

        done = asyncio.Event()
        count = 0
        bar = tqdm(total=n, desc="delivered", unit="ev", leave=False)

        class Counting:
            """The consumer as the services run it (a batch handler), counting what
            committed."""

            async def __call__(self, envelope) -> None:
                await self.handle_batch([envelope])

            async def handle_batch(self, envelopes):
                nonlocal count
                errors = await consumer.handle_batch(envelopes)
                handled = sum(error is None for error in errors)
                count += handled
                bar.update(handled)
                if count >= n:
                    done.set()
                return errors

        counting = Counting()

        stop = asyncio.Event()
        # the relay as the services configure it
        relay = OutboxRelay(
            db, bus, outbox, service="producer", batch_size=settings.relay_batch_size
        )
        started = time.perf_counter()
        tasks = [
            asyncio.create_task(relay.run(stop)),
            asyncio.create_task(bus.consume("ledger", counting, stop=stop)),
        ]
        await asyncio.wait_for(done.wait(), timeout=max(120, n / 20))
        e2e_elapsed = time.perf_counter() - started
        stop.set()
        await asyncio.gather(*tasks)
        bar.close()
        e2e = n / e2e_elapsed

        async with db.sessionmaker() as session:
            rows = (
                await session.execute(sa.select(effects.c.published_at, effects.c.applied_at))
            ).all()
        lat = sorted(
            (
                (a if a.tzinfo else a.replace(tzinfo=UTC))
                - (p if p.tzinfo else p.replace(tzinfo=UTC))
            ).total_seconds()
            for p, a in rows
        )
        print()
        print(f"{'emulator alone: sent (SNS PublishBatch -> SQS)':52s} {raw_sent:10.0f} events/s")
        print(f"{'emulator alone: sent and received+deleted':52s} {raw:10.0f} events/s")
        print(f"{'outbox writes (100 events per transaction)':52s} {outbox_rate:10.0f} events/s")
        print(f"{'delivered end to end (outbox->SNS->SQS->inbox)':52s} {e2e:10.0f} events/s")
        print(f"{'ratio end-to-end / emulator sent+received':52s} {e2e / raw:10.2f}")
        print(f"{'ratio end-to-end / emulator sent only':52s} {e2e / raw_sent:10.2f}")
        print(
            f"{'latency outbox write -> effect committed, p50':52s} {statistics.median(lat):10.3f} s"
        )
        print(
            f"{'  (includes time queued behind the backlog)   p99':52s} {lat[int(len(lat) * 0.99) - 1]:10.3f} s"
        )
        print(
            f"target: >= 500 events/s delivered and ratio >= 0.8 -> "
            f"{'met' if e2e >= 500 and e2e / raw >= 0.8 else 'NOT met'}"
        )
    finally:
        await bus.close()
        await db.dispose()
        if moto:
            moto.terminate()
            moto.wait(10)


if __name__ == "__main__":
    asyncio.run(main())
