"""What the dispatcher tests share: a migrated render database (SQLite or Postgres) written
directly through the tables in adapters/db.py, the real work queue on moto's server, and
simulated GPU workers that receive from it and mark jobs running and completed the way
render's internal API does (start accepts only a `dispatched` job): `Workers`, one job
at a time each, and `BatchedWorkers`, `rows` image rows each, which report their capacity
through the heartbeat the internal API serves (`Jobs.heartbeat`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pingvas_render.adapters.db import entitlements, jobs, metadata, workers
from pingvas_render.adapters.progress import ProgressHub
from pingvas_render.adapters.work_queue import WorkQueue
from pingvas_render.app import MIGRATIONS
from pingvas_render.catalog import load_catalog
from pingvas_render.manifest import SERVICE
from pingvas_render.settings import Settings
from pingvas_render.usecases.dispatcher import Dispatcher
from pingvas_render.usecases.jobs import Jobs

from pingvas_kit.migrations import upgrade
from pingvas_kit.service import ServiceRuntime


class DispatchSettings(Settings):
    """The render settings with the dispatcher's knobs (present whether or not
    settings.py already declares them)."""

    work_queue_name: str = "render-work"
    dispatch_depth: int = 2
    dispatch_interval_s: float = 0.2
    dispatch_timeout_s: float = 300.0
    dispatcher_enabled: bool = True


def make_settings(
    db_backend: dict[str, Any], moto_endpoint: str, bus_prefix: str, **overrides: Any
) -> DispatchSettings:
    values = {k: v for k, v in db_backend.items() if k != "backend"}
    return DispatchSettings(
        **{"aws_endpoint_url": moto_endpoint, "bus_prefix": bus_prefix, **values, **overrides}
    )


async def open_runtime(settings: DispatchSettings) -> ServiceRuntime:
    """The service runtime (nothing started) over a migrated database."""
    runtime = ServiceRuntime(SERVICE, settings, metadata=metadata, migrations=MIGRATIONS)
    await upgrade(runtime.db, MIGRATIONS)
    # the render tables' migration may not have landed yet: create what is missing
    async with runtime.db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    return runtime


async def add_tenant(
    runtime: ServiceRuntime,
    tenant_id: str | None = None,
    *,
    max_concurrent: int = 10,
    weight: int = 1,
) -> str:
    tenant_id = tenant_id or str(uuid.uuid4())
    now = datetime.now(UTC)
    async with runtime.db.transaction() as session:
        await session.execute(
            sa.insert(entitlements).values(
                tenant_id=tenant_id,
                plan="test",
                monthly_credits=1000,
                max_concurrent_jobs=max_concurrent,
                max_images_per_job=4,
                max_width=1024,
                max_height=1024,
                allowed_models=["tiny-sd1"],
                priority_weight=weight,
                credits_available=100000,
                credits_reserved=0,
                updated_at=now,
            )
        )
    return tenant_id


_clock = [datetime.now(UTC)]


def _tick() -> datetime:
    """Strictly increasing creation times, so 'oldest' is never a coin toss."""
    _clock[0] = max(_clock[0] + timedelta(microseconds=10), datetime.now(UTC))
    return _clock[0]


async def queue_jobs(
    runtime: ServiceRuntime, tenant_id: str, n: int = 1, *, model: str = "tiny-sd1"
) -> list[str]:
    ids = []
    async with runtime.db.transaction() as session:
        for i in range(n):
            job_id = str(uuid.uuid4())
            seed = 1000 + i
            await session.execute(
                sa.insert(jobs).values(
                    id=job_id,
                    tenant_id=tenant_id,
                    request_hash="0" * 64,
                    request={
                        "prompt": f"job {i}",
                        "model": model,
                        "width": 64,
                        "height": 64,
                        "steps": 4,
                        "cfg_scale": 7.5,
                        "scheduler": "euler",
                        "seed": seed,
                        "num_images": 1,
                        "negative_prompt": "",
                    },
                    model=model,
                    seed=seed,
                    num_images=1,
                    image_ids=[str(uuid.uuid4())],
                    credits_reserved=1,
                    status="queued",
                    created_at=_tick(),
                )
            )
            ids.append(job_id)
    return ids


async def statuses(runtime: ServiceRuntime) -> dict[str, str]:
    async with runtime.db.sessionmaker() as session:
        return {r.id: r.status for r in await session.execute(sa.select(jobs.c.id, jobs.c.status))}


async def job_row(runtime: ServiceRuntime, job_id: str) -> Any:
    async with runtime.db.sessionmaker() as session:
        return (await session.execute(sa.select(jobs).where(jobs.c.id == job_id))).one()


class Violation(AssertionError):
    pass


async def free_rows(runtime: ServiceRuntime, stale_s: float) -> int:
    """The live workers' rows less the images running on them, counted here on its own
    (not with the dispatcher's query)."""
    since = datetime.now(UTC) - timedelta(seconds=stale_s)
    async with runtime.db.sessionmaker() as session:
        live = dict(
            (
                await session.execute(
                    sa.select(workers.c.worker_id, workers.c.capacity).where(
                        workers.c.seen_at >= since, workers.c.capacity > 0
                    )
                )
            ).all()
        )
        running = (
            await session.execute(
                sa.select(jobs.c.worker_id, jobs.c.num_images).where(jobs.c.status == "running")
            )
        ).all()
    busy = sum(n for worker_id, n in running if worker_id in live)
    return max(0, sum(live.values()) - busy)


class CheckingQueue(WorkQueue):
    """The real work queue, checking at every send (the moment both limits are at their
    highest) that the queue is no deeper than it may be (fewer than `dispatch_depth`
    jobs, or fewer rows than the live workers' free rows, were waiting before this one)
    and the tenant is within its concurrency; it can also be told to fail sends."""

    def __init__(self, settings: Any, runtime: ServiceRuntime) -> None:
        super().__init__(settings)
        self.runtime = runtime
        self.depth = int(settings.dispatch_depth)
        self.stale_s = float(getattr(settings, "worker_stale_s", 20.0))
        self.violations: list[str] = []
        self.sent_jobs: list[str] = []
        self.sent_tenants: list[str] = []
        self.max_dispatched = 0
        self.max_in_flight: dict[str, int] = {}
        self.fail_next = 0
        self.fail_with: Callable[[], BaseException] = lambda: RuntimeError("SQS is down")

    async def send(self, item: dict[str, Any], group_id: str) -> str:
        if self.fail_next:
            self.fail_next -= 1
            raise self.fail_with()
        free = await free_rows(self.runtime, self.stale_s)
        async with self.runtime.db.sessionmaker() as session:
            dispatched, dispatched_rows = (
                await session.execute(
                    sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(jobs.c.num_images), 0))
                    .select_from(jobs)
                    .where(jobs.c.status == "dispatched")
                )
            ).one()
            in_flight = await session.scalar(
                sa.select(sa.func.count())
                .select_from(jobs)
                .where(jobs.c.tenant_id == group_id, jobs.c.status.in_(("dispatched", "running")))
            )
            limit = await session.scalar(
                sa.select(entitlements.c.max_concurrent_jobs).where(
                    entitlements.c.tenant_id == group_id
                )
            )
        self.max_dispatched = max(self.max_dispatched, dispatched)
        self.max_in_flight[group_id] = max(self.max_in_flight.get(group_id, 0), in_flight)
        # what waited before this job (it is marked dispatched already)
        before, rows_before = dispatched - 1, dispatched_rows - len(item["image_ids"])
        if before >= self.depth and rows_before >= free:
            self.violations.append(
                f"{dispatched} dispatched > depth {self.depth}, "
                f"{dispatched_rows} rows dispatched > {free} free"
            )
        if in_flight > limit:
            self.violations.append(f"tenant {group_id}: {in_flight} in flight > {limit}")
        self.sent_jobs.append(item["job_id"])
        self.sent_tenants.append(group_id)
        return await super().send(item, group_id)


@dataclass
class Workers:
    """n simulated GPU workers on the real queue. start = the internal API's start call
    (dispatched -> running, refused otherwise); then `duration` of work, completed, the
    message deleted, the dispatcher poked."""

    runtime: ServiceRuntime
    queue: WorkQueue
    dispatchers: list[Dispatcher]
    n: int = 2
    duration: float = 0.02
    started: list[tuple[str, str]] = field(default_factory=list)  # (tenant, job) in start order
    refused: list[str] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task] = field(default_factory=list)
    paused: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.paused.set()  # set = running

    async def _start(self, job_id: str) -> bool:
        now = datetime.now(UTC)
        async with self.runtime.db.transaction() as session:
            result = await session.execute(
                sa.update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == "dispatched")
                .values(status="running", started_at=now, attempts=jobs.c.attempts + 1)
            )
            return result.rowcount == 1

    async def _complete(self, job_id: str) -> None:
        async with self.runtime.db.transaction() as session:
            await session.execute(
                sa.update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == "running")
                .values(status="completed", finished_at=datetime.now(UTC), credits_used=1)
            )

    def _poke(self) -> None:
        for dispatcher in self.dispatchers:
            dispatcher.poke()

    async def _work(self) -> None:
        while not self._stop.is_set():
            await self.paused.wait()
            messages = await self.queue.receive(max_messages=1, wait_s=1, visibility_s=30)
            for message in messages:
                job_id = message.body["job_id"]
                self.received.append(job_id)
                if not await self._start(job_id):
                    self.refused.append(job_id)
                    await self.queue.delete(message.receipt_handle)
                    continue
                self.started.append((message.body["tenant_id"], job_id))
                self._poke()
                await asyncio.sleep(self.duration)
                await self._complete(job_id)
                await self.queue.delete(message.receipt_handle)
                self._poke()

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self.n)]

    async def stop(self) -> None:
        self._stop.set()
        self.paused.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                for task in self._tasks:
                    if task.done() and task.exception():
                        raise task.exception()
                await asyncio.sleep(0.01)


@dataclass
class BatchedWorkers:
    """n simulated batched GPU workers of `rows` image rows each, on the real queue. Each
    one heartbeats every `heartbeat_s` through `Jobs.heartbeat` (what the internal API
    serves) with its capacity and the jobs it holds, unless it is `silent`; receives as
    many messages as it has free rows; starts each job as render's start does
    (dispatched -> running on this worker, refused otherwise) and holds it for its
    `duration` (seconds, or a function of the start's index), then completes it, deletes
    the message and pokes the dispatchers."""

    runtime: ServiceRuntime
    queue: WorkQueue
    dispatchers: list[Dispatcher]
    settings: Any
    n: int = 2
    rows: int = 4
    duration: float | Callable[[int], float] = 0.05
    heartbeat_s: float = 0.2
    started: list[tuple[str, str]] = field(default_factory=list)  # (tenant, job) in start order
    refused: list[str] = field(default_factory=list)
    #: worker ids that stopped heartbeating
    silent: set[str] = field(default_factory=set)
    ids: list[str] = field(default_factory=list)
    #: worker id -> {job id: rows} it holds
    held: dict[str, dict[str, int]] = field(default_factory=dict)
    _freed: dict[str, asyncio.Event] = field(default_factory=dict)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task] = field(default_factory=list)

    def __post_init__(self) -> None:
        run = uuid.uuid4().hex[:8]
        self.ids = [f"gpu-{run}-{i}" for i in range(self.n)]
        self.held = {worker_id: {} for worker_id in self.ids}
        self._freed = {worker_id: asyncio.Event() for worker_id in self.ids}
        self.service = Jobs(
            self.runtime,
            self.settings,
            ProgressHub(),
            load_catalog(getattr(self.settings, "catalog", None)),
        )

    async def beat(self, *worker_ids: str) -> None:
        """One heartbeat of each worker named (all when none is)."""
        for worker_id in worker_ids or self.ids:
            await self.service.heartbeat(
                worker_id=worker_id, job_ids=list(self.held[worker_id]), capacity=self.rows
            )

    async def _beating(self, worker_id: str) -> None:
        while not self._stop.is_set():
            await asyncio.sleep(self.heartbeat_s)
            if worker_id not in self.silent:
                await self.beat(worker_id)

    async def _start(self, worker_id: str, job_id: str) -> bool:
        now = datetime.now(UTC)
        async with self.runtime.db.transaction() as session:
            result = await session.execute(
                sa.update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == "dispatched")
                .values(
                    status="running",
                    worker_id=worker_id,
                    started_at=now,
                    heartbeat_at=now,
                    attempts=jobs.c.attempts + 1,
                )
            )
            return result.rowcount == 1

    def _poke(self) -> None:
        for dispatcher in self.dispatchers:
            dispatcher.poke()

    def _free(self, worker_id: str) -> int:
        return self.rows - sum(self.held[worker_id].values())

    async def _run(self, worker_id: str, job_id: str, receipt: str, index: int) -> None:
        duration = self.duration(index) if callable(self.duration) else self.duration
        await asyncio.sleep(duration)
        async with self.runtime.db.transaction() as session:
            await session.execute(
                sa.update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == "running")
                .values(status="completed", finished_at=datetime.now(UTC), credits_used=1)
            )
        await self.queue.delete(receipt)
        del self.held[worker_id][job_id]
        self._freed[worker_id].set()
        self._poke()

    async def _work(self, worker_id: str) -> None:
        freed = self._freed[worker_id]
        while not self._stop.is_set():
            if self._free(worker_id) <= 0:
                freed.clear()
                if self._free(worker_id) <= 0:
                    await freed.wait()
                continue
            messages = await self.queue.receive(
                max_messages=min(10, self._free(worker_id)), wait_s=1, visibility_s=30
            )
            for message in messages:
                job_id = message.body["job_id"]
                if not await self._start(worker_id, job_id):
                    self.refused.append(job_id)
                    await self.queue.delete(message.receipt_handle)
                    continue
                self.held[worker_id][job_id] = len(message.body["image_ids"])
                index = len(self.started)
                self.started.append((message.body["tenant_id"], job_id))
                self._poke()
                self._tasks.append(
                    asyncio.create_task(self._run(worker_id, job_id, message.receipt_handle, index))
                )

    async def start(self) -> None:
        """A first heartbeat from every worker, then their loops."""
        await self.beat()
        for worker_id in self.ids:
            self._tasks.append(asyncio.create_task(self._work(worker_id)))
            self._tasks.append(asyncio.create_task(self._beating(worker_id)))

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                for task in self._tasks:
                    if task.done() and not task.cancelled() and task.exception():
                        raise task.exception()
                await asyncio.sleep(0.01)


@asynccontextmanager
async def running(*dispatchers: Dispatcher) -> AsyncIterator[asyncio.Event]:
    """The dispatchers' loops in tasks until the block ends."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(d.run(stop)) for d in dispatchers]
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.gather(*tasks)
