"""Event bus throughput, end to end, against moto's real server on this machine.

Measures in one run, on the same emulator:
  raw   the emulator alone, driven as the bus drives it: PublishBatch calls (10 events
        each, the relay's concurrency) into the same topic and SQS subscription, while
        receive loops (the consumer's count) take 10 at a time and delete them, with no
        outbox, no decoding and no inbox. The messages are the ones the bus sends (the
        same envelopes, the bus's own message attributes), received with the bus's
        parameters (all attributes, the receive count, the visibility timeout), so both
        sides ask the same work of the emulator. Printed as the send rate alone and as
        the sent-and-received rate: the most this transport carries here;
  e2e   events delivered end to end: already committed outbox rows -> relay ->
        SNS -> SQS -> consumer with inbox (one transaction per received batch, a
        savepoint per event only when one of them fails), until the last event's
        effect is committed;
and prints both, their ratio, and the publish-to-effect latency.

Each side runs as the product runs it: the sending side (the relay, in the producing
service) and the receiving side (the consumer, in the consuming service) in processes
of their own, so the raw side's sender and receive loops are two processes too. The
timer starts when the receiving process is up and polling, and stops at the moment it
has received (raw) or committed (e2e) the last event (CLOCK_MONOTONIC, which the two
processes share). The CPU each process used per event is printed for both sides: where
the end-to-end run spends what the raw one does not.

    uv run python bench/bus.py [--events 3000] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiobotocore.session import get_session
from pydantic_settings import SettingsConfigDict
from tqdm import tqdm

from pingvas_contracts import ServiceSpec, new_envelope
from pingvas_contracts.events.render import JobCompleted
from pingvas_kit.bus import build_topology, make_bus
from pingvas_kit.bus.sqs._publish import _publish_attributes
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


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_cpu() -> float:
    """CPU seconds used so far by every process named postgres (the server's backends
    come and go; those that ended between two readings are missed)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().split(" (", 1)[1].startswith("postgres)"):
                total += _cpu_of(int(stat.parent.name))
        except (OSError, IndexError):
            continue
    return total


class Cpu:
    """CPU per event while a phase runs, by process: the emulator, this process, and
    Postgres; the receiving process reports its own."""

    def __init__(self, emulator_pid: int | None) -> None:
        self.pids = {"emulator": emulator_pid} if emulator_pid else {}

    def read(self) -> dict[str, float]:
        now = {name: _cpu_of(pid) for name, pid in self.pids.items()}
        now["sender"] = time.process_time()
        now["postgres"] = _postgres_cpu()
        return now

    @staticmethod
    def per_event(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
        return {k: (after[k] - before[k]) * 1000 / n for k in before}


def _aws(endpoint: str) -> dict[str, str]:
    return {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
    }


async def _raw_receive(
    conn: Connection,
    endpoint: str,
    queue_url: str,
    n: int,
    pollers: int,
    in_flight: int,
    visibility_timeout: int,
) -> None:
    """The raw side's receiving process: `pollers` loops receive 10 at a time and delete
    them in a batch, each loop's next receive overlapping its last `in_flight` deletes
    (as the bus's do); sends the moment the last of `n` was deleted."""
    async with get_session().create_client("sqs", **_aws(endpoint)) as sqs:
        received = 0
        done = asyncio.Event()
        finished_at = 0.0

        async def delete(got: list[dict], slots: asyncio.Semaphore) -> None:
            nonlocal received, finished_at
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
            if received >= n and not done.is_set():
                finished_at = time.perf_counter()
                done.set()

        async def drain() -> None:
            slots = asyncio.Semaphore(in_flight)
            deleting = set()
            while not done.is_set():
                await slots.acquire()
                got = (
                    await sqs.receive_message(
                        QueueUrl=queue_url,
                        MaxNumberOfMessages=10,
                        WaitTimeSeconds=1,
                        VisibilityTimeout=visibility_timeout,
                        MessageSystemAttributeNames=["ApproximateReceiveCount"],
                        MessageAttributeNames=["All"],
                    )
                ).get("Messages", [])
                if not got:
                    slots.release()
                    continue
                task = asyncio.create_task(delete(got, slots))
                deleting.add(task)
                task.add_done_callback(deleting.discard)
            await asyncio.gather(*deleting)

        drainers = [asyncio.create_task(drain()) for _ in range(pollers)]
        cpu = time.process_time()
        conn.send("ready")
        await asyncio.wait_for(done.wait(), timeout=max(120, n / 10))
        # let each receive loop finish its current long poll instead of cancelling it: a
        # poll cancelled on our side still runs in the emulator, and would take up to 10
        # of the end-to-end run's messages and hide them for the visibility timeout
        conn.send((finished_at, time.process_time() - cpu))
        conn.recv()  # the sending side has read the CPU figures
        await asyncio.gather(*drainers)


async def _e2e_consume(conn: Connection, opts: dict[str, Any], n: int) -> None:
    """The end-to-end side's receiving process: the consumer as the services run it (the
    bus's receive loops handing each batch to EventConsumer.handle_batch); sends the
    moment the last of `n` events' effects committed."""
    settings = _settings(opts)
    db = Database(settings)
    bus = make_bus(settings, _topology(opts["prefix"]))
    await bus.start()
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
    finished_at = 0.0
    bar = tqdm(total=n, desc="delivered", unit="ev", leave=False)

    class Counting:
        """The consumer, counting what committed."""

        async def __call__(self, envelope) -> None:
            await self.handle_batch([envelope])

        async def handle_batch(self, envelopes):
            nonlocal count, finished_at
            errors = await consumer.handle_batch(envelopes)
            handled = sum(error is None for error in errors)
            count += handled
            bar.update(handled)
            if count >= n and not done.is_set():
                finished_at = time.perf_counter()
                done.set()
            return errors

    stop = asyncio.Event()
    consuming = asyncio.create_task(bus.consume("ledger", Counting(), stop=stop))
    cpu = time.process_time()
    try:
        conn.send("ready")
        await asyncio.wait_for(done.wait(), timeout=max(120, n / 20))
        # sent before closing the connections, so that their Postgres backends are still
        # there when the sending side reads the CPU figures
        conn.send((finished_at, time.process_time() - cpu))
        conn.recv()
    finally:
        stop.set()
        await consuming
        bar.close()
        await bus.close()
        await db.dispose()


def _child(conn: Connection, which: str, *args: Any) -> None:
    """A receiving process (spawned): runs one of the two sides above."""
    side = {"raw": _raw_receive, "e2e": _e2e_consume}[which]
    asyncio.run(side(conn, *args))


class Receiver:
    """A receiving side in a process of its own: start() returns once it polls,
    finished_at() waits for the moment it took the last event."""

    def __init__(self, which: str, *args: Any) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_child, args=(child, which, *args), daemon=True)

    def start(self) -> None:
        self.process.start()
        if not self.conn.poll(120) or self.conn.recv() != "ready":
            raise RuntimeError("the receiving process did not start")

    async def finished_at(self, timeout: float) -> tuple[float, float]:
        """(when it took the last event, the CPU seconds it used from ready to then)"""
        ready = await asyncio.to_thread(self.conn.poll, timeout)
        if not ready:
            self.process.kill()
            raise TimeoutError("the receiving process did not get every event in time")
        return self.conn.recv()

    async def close(self) -> None:
        """Let the receiving process end (after the CPU figures are read)."""
        self.conn.send("read")
        await asyncio.to_thread(self.process.join, 30)


async def raw_rates(
    endpoint: str,
    topic_arn: str,
    queue_url: str,
    n: int,
    *,
    publishers: int,
    pollers: int,
    in_flight: int,
    visibility_timeout: int,
    cpu: Cpu,
) -> tuple[float, float, dict[str, float]]:
    """The emulator alone, driven the way the bus drives it but with no outbox, no
    decoding and no inbox: PublishBatch calls (10 events each) at the relay's
    concurrency from this process, while another receives and deletes them
    (`_raw_receive`). Returns (events/s published, events/s received and deleted)."""
    # the same messages as the end-to-end run moves: the same body, the same message
    # attributes (the bus's own), received with the same parameters
    envelopes = [
        new_envelope(TYPE, data(i), source="producer", tenant_id=f"t-{i % 10}") for i in range(n)
    ]
    entries = [(e.to_json(), _publish_attributes(e)) for e in envelopes]
    receiver = Receiver("raw", endpoint, queue_url, n, pollers, in_flight, visibility_timeout)
    receiver.start()
    async with get_session().create_client("sns", **_aws(endpoint)) as sns:
        sem = asyncio.Semaphore(publishers)

        async def send(chunk: list[tuple[str, dict]]) -> None:
            async with sem:
                await sns.publish_batch(
                    TopicArn=topic_arn,
                    PublishBatchRequestEntries=[
                        {"Id": str(j), "Message": body, "MessageAttributes": attributes}
                        for j, (body, attributes) in enumerate(chunk)
                    ],
                )

        before = cpu.read()
        started = time.perf_counter()
        await asyncio.gather(*(send(entries[i : i + 10]) for i in range(0, n, 10)))
        published = time.perf_counter() - started
        finished_at, receiver_cpu = await receiver.finished_at(max(120, n / 10))
        used = cpu.per_event(before, cpu.read(), n) | {"receiver": receiver_cpu * 1000 / n}
        await receiver.close()
        delivered = finished_at - started
    async with get_session().create_client("sqs", **_aws(endpoint)) as sqs:
        await sqs.purge_queue(QueueUrl=queue_url)
    return n / published, n / delivered, used


def _settings(opts: dict[str, Any]) -> BenchSettings:
    return BenchSettings(
        var_dir=Path(opts["tmp"]),
        database_url=opts["database_url"],
        db_schema=opts["prefix"],
        aws_endpoint_url=opts["endpoint"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
        bus_prefix=opts["prefix"],
        bus_wait_seconds=1,
    )


def _topology(prefix: str):
    return build_topology({"producer": PRODUCER, "ledger": CONSUMER}, prefix=prefix)


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
    opts = {
        "tmp": str(tmp),
        "database_url": args.database_url,
        "prefix": prefix,
        "endpoint": endpoint,
    }
    settings = _settings(opts)
    topology = _topology(prefix)
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

        cpu = Cpu(moto.pid if moto else None)
        raw_sent, raw, raw_used = await raw_rates(
            endpoint,
            topic_arn,
            queue_url,
            n,
            publishers=bus.publish_concurrency,
            pollers=bus.pollers,
            in_flight=bus.batches_in_flight,
            visibility_timeout=bus.visibility_timeout,
            cpu=cpu,
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

        receiver = Receiver("e2e", opts, n)
        receiver.start()
        stop = asyncio.Event()
        # the relay as the services configure it
        relay = OutboxRelay(
            db, bus, outbox, service="producer", batch_size=settings.relay_batch_size
        )
        before = cpu.read()
        started = time.perf_counter()
        relaying = asyncio.create_task(relay.run(stop))
        try:
            finished_at, receiver_cpu = await receiver.finished_at(max(120, n / 20))
            e2e_used = cpu.per_event(before, cpu.read(), n) | {"receiver": receiver_cpu * 1000 / n}
            e2e_elapsed = finished_at - started
            await receiver.close()
        finally:
            stop.set()
            await relaying
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
        print("CPU per event (ms), by process:")
        for name in ("emulator", "sender", "receiver", "postgres"):
            if name in raw_used:
                print(f"  {name:10s} raw {raw_used[name]:6.3f}   end to end {e2e_used[name]:6.3f}")
        print(
            f"  {'total':10s} raw {sum(raw_used.values()):6.3f}   "
            f"end to end {sum(e2e_used.values()):6.3f}   "
            f"(this machine: {os.cpu_count()} cores)"
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
