"""The dispatcher: moves queued jobs to the SQS work queue in weighted fair order and keeps
the queue as deep as the workers' free rows, and no deeper (docs/render.md, "Fair
scheduling").

Stride scheduling across tenants. Eligible tenants have queued jobs and fewer than
`max_concurrent_jobs` jobs dispatched or running. Among them the lowest `pass` wins
(ties: fewer jobs in flight, then the oldest queued job); its oldest queued job is sent
and its pass grows by `1 / priority_weight`. A tenant that becomes active after being
idle starts at the smallest pass among the active tenants (its scheduler row is dropped
while it is idle), so idleness is not saved up.

How deep: every worker's heartbeat says how many image rows its engine runs at once
(`capacity`, the `workers` table). A worker heard from within `worker_stale_s` is live;
the free rows are the live workers' capacity less the images of the jobs running on them.
The dispatcher keeps sending while fewer than `dispatch_depth` jobs are dispatched but not
yet started, or while those jobs' images are fewer than the free rows. So idle rows are
filled in one round, and once every row is busy only `dispatch_depth` jobs wait in SQS:
a newcomer waits behind at most that many jobs of a tenant with a backlog, and the fair
order picks each next job when a row frees. With no worker reporting a capacity this is
the plain `dispatch_depth`. Each round reads the room once (two aggregate
queries) and counts what it sends itself; starts and finishes during a round are seen by
the next one (they poke it).

Dispatching a job is one transaction (status `dispatched`, `dispatched_at`, the pass)
followed by the send. A failed send puts the job back (`queued`, the pass restored); a
crash between the commit and the send leaves a `dispatched` job that no worker will
start: the sweep puts jobs dispatched longer than `dispatch_timeout_s` ago back to
queued. The same job may therefore sit in SQS twice; render's start call accepts only a
`dispatched` job, so the copy that arrives second is refused and deleted by the worker.

On Postgres one dispatcher leads (pg_try_advisory_lock on a dedicated connection); the
others stand by and take over when the leader's connection goes. On SQLite the service
is one process and its dispatcher simply runs.

The settings it reads (getattr, with these defaults): `dispatch_depth` 2,
`dispatch_interval_s` 0.2, `dispatch_timeout_s` 300, `dispatcher_enabled` True,
`worker_stale_s` 20.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import time
import zlib
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from pingvas_kit.logging import get_logger

from ..adapters import repository as repo
from ..adapters.db import entitlements, jobs, scheduler
from ..adapters.work_queue import WorkQueue
from ..catalog import Catalog, load_catalog

log = get_logger("pingvas.render.dispatcher")

QUEUED = "queued"
DISPATCHED = "dispatched"
RUNNING = "running"
UNFINISHED = (QUEUED, DISPATCHED, RUNNING)
IN_FLIGHT = (DISPATCHED, RUNNING)

DEFAULT_DEPTH = 2
DEFAULT_INTERVAL_S = 0.2
DEFAULT_TIMEOUT_S = 300.0
DEFAULT_WORKER_STALE_S = 20.0
#: a worker not heard from for this long (or 10 x worker_stale_s, if longer) is forgotten
WORKER_FORGET_S = 3600.0
#: how often a standby replica tries to become the leader
STANDBY_INTERVAL_S = 2.0
#: after an unexpected error (database or SQS down), before trying again
ERROR_BACKOFF_S = 2.0
#: a tenant without an entitlements row (should not happen): the Free plan's floor
FALLBACK_CONCURRENCY = 1
FALLBACK_WEIGHT = 1

JOBS_PENDING = Gauge("pingvas_render_jobs_pending", "Render jobs queued, not yet dispatched")
JOBS_IN_FLIGHT = Gauge(
    "pingvas_render_jobs_in_flight", "Render jobs dispatched to the work queue or running"
)
OLDEST_PENDING = Gauge(
    "pingvas_render_oldest_pending_job_seconds",
    "Age of the oldest job still queued (0 when none waits)",
)
DISPATCHED_TOTAL = Counter("pingvas_render_jobs_dispatched_total", "Render jobs sent to workers")
SEND_FAILURES = Counter(
    "pingvas_render_dispatch_send_failures_total", "Work-queue sends that failed (job requeued)"
)
WORKER_CAPACITY = Gauge(
    "pingvas_render_worker_capacity_rows",
    "Image rows the live GPU workers' engines run at once (their reported capacity)",
)
WORKER_FREE_ROWS = Gauge(
    "pingvas_render_worker_free_rows",
    "Image rows of the live GPU workers not taken by a running job",
)
REQUEUED_STALE = Counter(
    "pingvas_render_dispatch_requeued_total",
    "Dispatched jobs that no worker started in time, put back to queued",
)


def _now() -> datetime:
    return datetime.now(UTC)


def _age_s(since: datetime | None) -> float:
    if since is None:
        return 0.0
    if since.tzinfo is None:  # SQLite hands back naive UTC
        since = since.replace(tzinfo=UTC)
    return max(0.0, (_now() - since).total_seconds())


def work_item(job: Any, catalog: Catalog | None = None) -> dict[str, Any]:
    """The WorkItem of a job row (docs/render.md): what the work queue carries and what
    the start call hands back. `model` is the catalog entry (None when the catalog no
    longer has it: the worker fails such a job)."""
    model = (catalog or load_catalog()).get(job.model)
    return {
        "job_id": job.id,
        "tenant_id": job.tenant_id,
        "request": job.request,
        "model": model.as_dict() if model is not None else None,
        "image_ids": list(job.image_ids),
        # the request's trace: the worker's job span is its child
        "traceparent": getattr(job, "traceparent", None),
    }


@dataclass
class _Tenant:
    tenant_id: str
    queued: int = 0
    in_flight: int = 0
    oldest_queued: Any = None
    max_concurrent: int = FALLBACK_CONCURRENCY
    weight: int = FALLBACK_WEIGHT
    pass_: float | None = None  # None: no scheduler row (newly active)

    @property
    def current_pass(self) -> float:
        """The pass, once `_start_passes` gave every active tenant one."""
        if self.pass_ is None:
            raise RuntimeError(f"tenant {self.tenant_id} has no pass yet")
        return self.pass_

    @property
    def stride(self) -> float:
        return 1.0 / max(1, self.weight)

    @property
    def eligible(self) -> bool:
        return self.queued > 0 and self.in_flight < self.max_concurrent


async def _tenant_states(session: AsyncSession) -> dict[str, _Tenant]:
    """Every tenant with unfinished jobs: counts, oldest queued job, limits and pass."""
    rows = await session.execute(
        sa.select(jobs.c.tenant_id, jobs.c.status, sa.func.count(), sa.func.min(jobs.c.created_at))
        .where(jobs.c.status.in_(UNFINISHED))
        .group_by(jobs.c.tenant_id, jobs.c.status)
    )
    tenants: dict[str, _Tenant] = {}
    for tenant_id, status, count, oldest in rows:
        tenant = tenants.setdefault(tenant_id, _Tenant(tenant_id))
        if status == QUEUED:
            tenant.queued = count
            tenant.oldest_queued = oldest
        else:
            tenant.in_flight += count
    if not tenants:
        return tenants
    ids = list(tenants)
    for tenant_id, max_concurrent, weight in await session.execute(
        sa.select(
            entitlements.c.tenant_id,
            entitlements.c.max_concurrent_jobs,
            entitlements.c.priority_weight,
        ).where(entitlements.c.tenant_id.in_(ids))
    ):
        tenants[tenant_id].max_concurrent = max_concurrent
        tenants[tenant_id].weight = max(1, weight)
    for tenant_id, pass_ in await session.execute(
        sa.select(scheduler.c.tenant_id, scheduler.c["pass"]).where(scheduler.c.tenant_id.in_(ids))
    ):
        tenants[tenant_id].pass_ = pass_
    return tenants


def _start_passes(tenants: Iterable[_Tenant]) -> None:
    """Give every newly active tenant (no scheduler row) the smallest pass among the
    active tenants that have one (0 when there are none)."""
    tenants = list(tenants)
    known = [t.pass_ for t in tenants if t.pass_ is not None]
    start = min(known) if known else 0.0
    for tenant in tenants:
        if tenant.pass_ is None:
            tenant.pass_ = start


def _pick(tenants: Iterable[_Tenant]) -> _Tenant | None:
    eligible = [t for t in tenants if t.eligible]
    if not eligible:
        return None
    return min(eligible, key=lambda t: (t.pass_, *_tiebreak(t)))


def _tiebreak(tenant: _Tenant) -> tuple:
    """Equal passes: fewer jobs in flight first (a newcomer beats a tenant whose backlog
    already fills the queue), then the oldest queued job."""
    return (tenant.in_flight, tenant.oldest_queued, tenant.tenant_id)


async def queue_positions(session: AsyncSession, tenant_id: str) -> dict[str, int]:
    """{job id: jobs ahead of it} for the tenant's queued and dispatched jobs, an estimate
    of the fair order: a dispatched job waits behind the jobs dispatched before it; the
    k-th queued job of a tenant with pass p and weight w goes at virtual time p + k/w,
    behind every job dispatched now and every other tenant's job due before then
    (concurrency limits are not modelled)."""
    rows = (
        await session.execute(
            sa.select(jobs.c.id, jobs.c.status, jobs.c.created_at, jobs.c.dispatched_at)
            .where(jobs.c.tenant_id == tenant_id, jobs.c.status.in_((QUEUED, DISPATCHED)))
            .order_by(jobs.c.created_at, jobs.c.id)
        )
    ).all()
    if not rows:
        return {}
    positions: dict[str, int] = {}
    # every dispatched job's time, in one query (the queue is shallow: the free rows and a
    # few more), instead of one count per job
    times = sorted(
        repo.aware(t)
        for t in (
            await session.scalars(
                sa.select(jobs.c.dispatched_at).where(jobs.c.status == DISPATCHED)
            )
        )
        if t is not None
    )
    for job_id, status, _, dispatched_at in rows:
        if status == DISPATCHED and dispatched_at is not None:
            positions[job_id] = bisect.bisect_left(times, repo.aware(dispatched_at))
    queued = [row for row in rows if row.status == QUEUED]
    if not queued:
        return positions
    dispatched = len(times)
    tenants = await _tenant_states(session)
    _start_passes(tenants.values())
    me = tenants[tenant_id]
    others = [t for t in tenants.values() if t.tenant_id != tenant_id and t.queued > 0]
    for k, row in enumerate(queued):
        due = me.current_pass + k * me.stride
        ahead = dispatched + k
        for other in others:
            # the other tenant's jobs due strictly earlier, plus one due at the same
            # virtual time when the tie goes to it (as in _pick)
            before = max(0, math.ceil((due - other.current_pass) / other.stride - 1e-9))
            tie = (due - other.current_pass) / other.stride
            if tie >= 0 and abs(tie - round(tie)) < 1e-9 and _tiebreak(other) < _tiebreak(me):
                before += 1
            ahead += min(other.queued, before)
        positions[row.id] = ahead
    return positions


@dataclass
class Room:
    """How deep the work queue may be this round: the live workers' rows, the images of
    the jobs running on them, and what is dispatched but not yet started."""

    depth: int
    capacity: int = 0
    busy: int = 0
    dispatched_jobs: int = 0
    dispatched_rows: int = 0

    @property
    def free_rows(self) -> int:
        return max(0, self.capacity - self.busy)

    @property
    def open(self) -> bool:
        """Whether one more job may be sent."""
        return self.dispatched_jobs < self.depth or self.dispatched_rows < self.free_rows

    def took(self, rows: int) -> None:
        self.dispatched_jobs += 1
        self.dispatched_rows += rows


async def worker_rows(session: AsyncSession, stale_s: float) -> tuple[int, int]:
    """(capacity, busy) of the workers heard from within `stale_s` (one query)."""
    return await repo.worker_rows(session, seen_since=_now() - timedelta(seconds=stale_s))


class Dispatcher:
    """Run with `await dispatcher.start()` / `await dispatcher.stop()` beside the web app
    (or `run(stop)` in a task); `poke()` after anything that may let a job go (a job
    queued, started or finished) so it does not wait for the next tick."""

    def __init__(
        self,
        runtime: Any,
        settings: Any,
        work_queue: WorkQueue,
        *,
        catalog: Catalog | None = None,
    ) -> None:
        self.runtime = runtime
        self.db = runtime.db
        self.settings = settings
        self.work_queue = work_queue
        self.catalog = catalog or load_catalog(getattr(settings, "catalog", None))
        self.depth = max(1, int(getattr(settings, "dispatch_depth", DEFAULT_DEPTH)))
        self.interval_s = float(getattr(settings, "dispatch_interval_s", DEFAULT_INTERVAL_S))
        self.timeout_s = float(getattr(settings, "dispatch_timeout_s", DEFAULT_TIMEOUT_S))
        self.stale_s = float(getattr(settings, "worker_stale_s", DEFAULT_WORKER_STALE_S))
        self.enabled = bool(getattr(settings, "dispatcher_enabled", True))
        self.lock_key = (
            zlib.crc32(f"pingvas-render-dispatcher-{self.db.schema}".encode()) & 0x7FFFFFFF
        )
        self._wake = asyncio.Event()
        self._lock_conn: AsyncConnection | None = None
        self._last_sweep = 0.0
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None
        #: how many jobs this dispatcher sent (tests and logs)
        self.sent = 0

    # -- leadership -----------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        return not self.db.is_postgres or self._lock_conn is not None

    async def _lead(self) -> bool:
        """Whether this dispatcher leads, trying to become the leader if it does not."""
        if not self.db.is_postgres:
            return True
        if self._lock_conn is not None:
            try:
                await self._lock_conn.execute(sa.text("SELECT 1"))
                return True
            except Exception as exc:  # the connection, and with it the lock, is gone
                log.warning("render.dispatcher.leadership_lost", error=repr(exc))
                await self._drop_lock_conn()
        conn = await self.db.engine.connect()
        try:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = await conn.scalar(
                sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self.lock_key}
            )
        except BaseException:
            await conn.close()
            raise
        if not got:
            await conn.close()
            return False
        self._lock_conn = conn
        log.info("render.dispatcher.leading", schema=self.db.schema)
        return True

    async def _drop_lock_conn(self) -> None:
        conn, self._lock_conn = self._lock_conn, None
        if conn is not None:
            with suppress(Exception):
                await conn.invalidate()
            with suppress(Exception):
                await conn.close()

    async def release(self) -> None:
        """Give up leadership (another replica takes over)."""
        conn, self._lock_conn = self._lock_conn, None
        if conn is None:
            return
        try:
            await conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self.lock_key})
        except Exception:
            with suppress(Exception):
                await conn.invalidate()
        finally:
            with suppress(Exception):
                await conn.close()

    # -- one round --------------------------------------------------------------------------

    async def room(self) -> Room:
        """This round's room (two aggregate queries): see the module's docstring."""
        async with self.db.sessionmaker() as session:
            capacity, busy = await worker_rows(session, self.stale_s)
            jobs_, rows = (
                await session.execute(
                    sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(jobs.c.num_images), 0))
                    .select_from(jobs)
                    .where(jobs.c.status == DISPATCHED)
                )
            ).one()
        return Room(
            self.depth,
            capacity=capacity,
            busy=busy,
            dispatched_jobs=int(jobs_ or 0),
            dispatched_rows=int(rows or 0),
        )

    async def run_once(self) -> int:
        """Sweep stale dispatches, then dispatch while there is room (fewer than
        `dispatch_depth` dispatched, or fewer dispatched rows than the live workers' free
        rows) and a tenant may go; the number of jobs sent. 0 on a standby replica."""
        if not await self._lead():
            return 0
        now = time.monotonic()
        if now - self._last_sweep >= min(5.0, self.timeout_s / 4):
            self._last_sweep = now
            await self.sweep()
        count = 0
        try:
            room = await self.room()
            while room.open:
                item = await self._dispatch_one()
                if item is None:
                    break
                try:
                    await self.work_queue.send(item["work"], group_id=item["work"]["tenant_id"])
                except Exception as exc:
                    SEND_FAILURES.inc()
                    log.warning(
                        "render.dispatcher.send_failed",
                        job_id=item["work"]["job_id"],
                        error=repr(exc),
                    )
                    await self._undo(item)
                    break
                room.took(item["rows"])
                count += 1
                self.sent += 1
                DISPATCHED_TOTAL.inc()
        finally:
            await self.refresh_gauges()
        return count

    async def _dispatch_one(self) -> dict[str, Any] | None:
        """One transaction: pick the tenant, mark its oldest queued job dispatched, advance
        the pass. What to send (and how to undo it), or None. The caller checked the room."""
        async with self.db.transaction() as session:
            # idle tenants lose their pass: when they come back they start at the minimum
            await session.execute(
                sa.delete(scheduler).where(
                    scheduler.c.tenant_id.not_in(
                        sa.select(jobs.c.tenant_id).where(jobs.c.status.in_(UNFINISHED))
                    )
                )
            )
            tenants = await _tenant_states(session)
            new = [t for t in tenants.values() if t.pass_ is None]
            _start_passes(tenants.values())
            # a newly active tenant's starting pass is fixed now, not each round again
            if new:
                await session.execute(
                    sa.insert(scheduler),
                    [{"tenant_id": t.tenant_id, "pass": t.pass_} for t in new],
                )
            tried: set[str] = set()
            while True:
                tenant = _pick(t for t in tenants.values() if t.tenant_id not in tried)
                if tenant is None:
                    return None
                job = (
                    await session.execute(
                        sa.select(jobs)
                        .where(jobs.c.tenant_id == tenant.tenant_id, jobs.c.status == QUEUED)
                        .order_by(jobs.c.created_at, jobs.c.id)
                        .limit(1)
                    )
                ).first()
                if job is not None:
                    now = _now()
                    marked = await session.execute(
                        sa.update(jobs)
                        .where(jobs.c.id == job.id, jobs.c.status == QUEUED)
                        .values(status=DISPATCHED, dispatched_at=now)
                    )
                    if marked.rowcount == 1:
                        break
                tried.add(tenant.tenant_id)  # changed under us (cancelled): the next one
            before = tenant.current_pass
            await session.execute(
                sa.update(scheduler)
                .where(scheduler.c.tenant_id == tenant.tenant_id)
                .values({scheduler.c["pass"]: before + tenant.stride})
            )
        return {
            "work": work_item(job, self.catalog),
            "rows": int(job.num_images),
            "pass_before": before,
            "stride": tenant.stride,
        }

    async def _undo(self, item: dict[str, Any]) -> None:
        """The send failed: the job goes back to queued and the tenant's pass back."""
        job_id = item["work"]["job_id"]
        tenant_id = item["work"]["tenant_id"]
        async with self.db.transaction() as session:
            undone = await session.execute(
                sa.update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == DISPATCHED)
                .values(status=QUEUED, dispatched_at=None)
            )
            if undone.rowcount:
                await session.execute(
                    sa.update(scheduler)
                    .where(scheduler.c.tenant_id == tenant_id)
                    .values({scheduler.c["pass"]: scheduler.c["pass"] - item["stride"]})
                )

    async def sweep(self) -> int:
        """Put jobs dispatched longer than dispatch_timeout_s ago and never started back
        to queued (a send that a crash cut off, a message lost); how many. Workers gone
        for long are forgotten too."""
        cutoff = _now() - timedelta(seconds=self.timeout_s)
        async with self.db.transaction() as session:
            result = await session.execute(
                sa.update(jobs)
                .where(jobs.c.status == DISPATCHED, jobs.c.dispatched_at < cutoff)
                .values(status=QUEUED, dispatched_at=None)
                .returning(jobs.c.id)
            )
            ids = [row[0] for row in result]
            forget = max(WORKER_FORGET_S, 10 * self.stale_s)
            await repo.forget_workers(session, seen_before=_now() - timedelta(seconds=forget))
        if ids:
            REQUEUED_STALE.inc(len(ids))
            log.warning("render.dispatcher.requeued_stale", jobs=ids, timeout_s=self.timeout_s)
        return len(ids)

    async def refresh_gauges(self) -> dict[str, int]:
        """The autoscaling gauges: jobs queued (the real backlog: the work queue holds
        only what the free rows, or `dispatch_depth`, allow), in flight, and the live
        workers' rows and free rows."""
        async with self.db.sessionmaker() as session:
            rows = (
                await session.execute(
                    sa.select(jobs.c.status, sa.func.count(), sa.func.min(jobs.c.created_at))
                    .where(jobs.c.status.in_(UNFINISHED))
                    .group_by(jobs.c.status)
                )
            ).all()
            counts = {status: count for status, count, _oldest in rows}
            oldest = next((first for status, _n, first in rows if status == QUEUED), None)
            capacity, busy = await worker_rows(session, self.stale_s)
        pending = counts.get(QUEUED, 0)
        in_flight = counts.get(DISPATCHED, 0) + counts.get(RUNNING, 0)
        free = max(0, capacity - busy)
        JOBS_PENDING.set(pending)
        OLDEST_PENDING.set(_age_s(oldest))
        JOBS_IN_FLIGHT.set(in_flight)
        WORKER_CAPACITY.set(capacity)
        WORKER_FREE_ROWS.set(free)
        return {
            "pending": pending,
            "in_flight": in_flight,
            "capacity_rows": capacity,
            "free_rows": free,
        }

    # -- the loop ---------------------------------------------------------------------------

    def poke(self) -> None:
        """Dispatch now rather than at the next tick (call from the event loop)."""
        self._wake.set()

    async def _wait(self, stop: asyncio.Event, timeout: float) -> None:
        if self._wake.is_set() or stop.is_set():
            return
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def run(self, stop: asyncio.Event) -> None:
        """Until stop is set: dispatch (when leading), then wait for poke() or the tick."""
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    if await self._lead():
                        await self.run_once()
                        wait = self.interval_s
                    else:
                        await self.refresh_gauges()
                        wait = STANDBY_INTERVAL_S
                except Exception as exc:
                    log.error("render.dispatcher.error", error=repr(exc))
                    wait = ERROR_BACKOFF_S
                await self._wait(stop, wait)
        finally:
            await self.release()

    async def start(self) -> None:
        """Run the loop in a task (a no-op when `dispatcher_enabled` is false). The work
        queue must exist: `await work_queue.ensure()` first where the service creates its
        resources (a missing queue makes every send fail and the jobs wait, queued)."""
        if not self.enabled or self._task is not None:
            return
        self._stop.clear()
        self._task = asyncio.create_task(self.run(self._stop), name="render-dispatcher")

    async def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(task, timeout)
            except (TimeoutError, asyncio.CancelledError):
                pass
            except Exception as exc:
                log.error("render.dispatcher.stopped_with_error", error=repr(exc))
