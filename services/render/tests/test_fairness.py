"""Fair scheduling end to end (docs/render.md, "Fair scheduling"): the dispatcher's loop,
the real work queue on moto's server and simulated GPU workers pulling from it (one job
at a time, or batched workers of several image rows that report their capacity), on
SQLite and Postgres. Every send is checked against the queue's allowed depth (the free
rows, or `dispatch_depth` beyond them) and the tenants' concurrency limits
(dispatch_support.CheckingQueue)."""

import asyncio
import sys
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

sys.path.insert(0, str(Path(__file__).parent))

from dispatch_support import (  # noqa: E402
    BatchedWorkers,
    CheckingQueue,
    Workers,
    add_tenant,
    make_settings,
    open_runtime,
    queue_jobs,
    running,
)
from pingvas_render.adapters.db import jobs, scheduler  # noqa: E402
from pingvas_render.usecases.dispatcher import Dispatcher  # noqa: E402

BOTH = pytest.mark.parametrize("db_backend", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
async def env(db_backend, moto_endpoint, bus_prefix):
    settings = make_settings(db_backend, moto_endpoint, bus_prefix)
    runtime = await open_runtime(settings)
    queue = CheckingQueue(settings, runtime)
    await queue.ensure()
    dispatcher = Dispatcher(runtime, settings, queue)
    yield settings, runtime, queue, dispatcher
    await dispatcher.release()
    await queue.close()
    await runtime.db.dispose()


@BOTH
async def test_a_single_job_is_not_stuck_behind_another_tenants_backlog(env):
    """Equal weights: A queues 30 jobs, then B queues 1. B's job starts before more than
    two further jobs of A have started (those two were already in the shallow queue)."""
    settings, runtime, queue, dispatcher = env
    a = await add_tenant(runtime, max_concurrent=10)
    b = await add_tenant(runtime, max_concurrent=10)
    await queue_jobs(runtime, a, 30)
    workers = Workers(runtime, queue, [dispatcher], n=2, duration=0.05)
    workers.start()
    try:
        async with running(dispatcher):
            await workers.wait_for(lambda: len(workers.started) >= 6)
            [b_job] = await queue_jobs(runtime, b, 1)
            mark = len(workers.started)
            dispatcher.poke()
            await workers.wait_for(lambda: (b, b_job) in workers.started)
            b_at = workers.started.index((b, b_job))
    finally:
        await workers.stop()
    a_between = [job for tenant, job in workers.started[mark:b_at] if tenant == a]
    assert len(a_between) <= settings.dispatch_depth == 2, workers.started
    assert queue.violations == []
    assert queue.max_dispatched <= settings.dispatch_depth


@BOTH
async def test_weights_four_and_one_share_the_starts_four_to_one(env):
    settings, runtime, queue, dispatcher = env
    heavy = await add_tenant(runtime, max_concurrent=10, weight=4)
    light = await add_tenant(runtime, max_concurrent=10, weight=1)
    # the light tenant queues first: its older jobs win no more than their share
    await queue_jobs(runtime, light, 60)
    await queue_jobs(runtime, heavy, 60)
    workers = Workers(runtime, queue, [dispatcher], n=3, duration=0.01)
    workers.start()
    try:
        async with running(dispatcher):
            # both still have queued work throughout the first 50 starts
            await workers.wait_for(lambda: len(workers.started) >= 50, timeout=120)
    finally:
        await workers.stop()
    first = [tenant for tenant, _ in workers.started[:50]]
    share = first.count(heavy) / len(first)
    assert 0.7 <= share <= 0.9, share
    assert queue.violations == []
    assert queue.max_dispatched <= settings.dispatch_depth


@BOTH
async def test_per_tenant_concurrency_holds_under_load(env):
    """Four tenants with limits 1..4, more workers than the limits allow: no tenant ever
    has more than its limit dispatched or running, and the queue stays shallow."""
    settings, runtime, queue, dispatcher = env
    tenants = {await add_tenant(runtime, max_concurrent=n): n for n in (1, 2, 3, 4)}
    for tenant in tenants:
        await queue_jobs(runtime, tenant, 8)
    workers = Workers(runtime, queue, [dispatcher], n=8, duration=0.05)

    peaks: dict[str, int] = {}

    async def sample() -> None:
        async with runtime.db.sessionmaker() as session:
            rows = await session.execute(
                sa.select(jobs.c.tenant_id, sa.func.count())
                .where(jobs.c.status.in_(("dispatched", "running")))
                .group_by(jobs.c.tenant_id)
            )
            for tenant, count in rows:
                peaks[tenant] = max(peaks.get(tenant, 0), count)
            waiting = await session.scalar(
                sa.select(sa.func.count()).select_from(jobs).where(jobs.c.status == "dispatched")
            )
            assert waiting <= settings.dispatch_depth

    workers.start()
    try:
        async with running(dispatcher):
            while len(workers.started) < 32:
                await sample()
                await workers.wait_for(lambda: True)
    finally:
        await workers.stop()
    assert queue.violations == []
    for tenant, limit in tenants.items():
        assert peaks.get(tenant, 0) <= limit
        assert queue.max_in_flight[tenant] <= limit


@BOTH
async def test_idleness_is_not_saved_up(env):
    """B ran a job long ago, went idle while A worked through 10: back, B starts at A's
    pass and alternates with A instead of taking many turns in a row."""
    settings, runtime, queue, dispatcher = env
    a = await add_tenant(runtime)
    b = await add_tenant(runtime)

    async def start_and_finish_dispatched() -> None:
        async with runtime.db.transaction() as session:
            await session.execute(
                sa.update(jobs)
                .where(jobs.c.status.in_(("dispatched", "running")))
                .values(status="completed")
            )

    await queue_jobs(runtime, b, 1)
    assert await dispatcher.run_once() == 1
    await start_and_finish_dispatched()
    await queue_jobs(runtime, a, 20)
    for _ in range(5):
        assert await dispatcher.run_once() == 2
        await start_and_finish_dispatched()
    b_jobs = await queue_jobs(runtime, b, 6)
    sent_before = len(queue.sent_jobs)
    for _ in range(5):
        await dispatcher.run_once()
        await start_and_finish_dispatched()
    order = queue.sent_jobs[sent_before:]
    b_set = set(b_jobs)
    pattern = "".join("b" if job in b_set else "a" for job in order)
    # equal passes, nothing in flight: the older job (A's) goes first, then they alternate
    assert pattern == "ababababab", pattern
    async with runtime.db.sessionmaker() as session:
        passes = dict(
            (await session.execute(sa.select(scheduler.c.tenant_id, scheduler.c["pass"]))).all()
        )
    assert passes[a] == 15.0 and passes[b] == 15.0


# -- batched workers: the queue as deep as the free rows --------------------------------------


async def dispatched(runtime) -> int:
    async with runtime.db.sessionmaker() as session:
        return await session.scalar(
            sa.select(sa.func.count()).select_from(jobs).where(jobs.c.status == "dispatched")
        )


@BOTH
async def test_with_batching_a_single_job_is_not_stuck_behind_another_tenants_backlog(env):
    """Equal weights, 2 workers of 4 rows: A queues 30 jobs and fills every row, then B
    queues 1. B's job starts before more than two further jobs of A have started (the
    two waiting in the queue beyond the busy rows)."""
    settings, runtime, queue, dispatcher = env
    a = await add_tenant(runtime, max_concurrent=20)
    b = await add_tenant(runtime, max_concurrent=20)
    await queue_jobs(runtime, a, 30)
    # staggered lengths, so rows free one at a time as on a real engine
    workers = BatchedWorkers(
        runtime,
        queue,
        [dispatcher],
        settings,
        n=2,
        rows=4,
        duration=lambda i: 0.15 + 0.04 * (i % 8),
    )
    await workers.start()
    try:
        async with running(dispatcher):
            await workers.wait_for(lambda: len(workers.started) >= 8)
            [b_job] = await queue_jobs(runtime, b, 1)
            mark = len(workers.started)
            dispatcher.poke()
            await workers.wait_for(lambda: (b, b_job) in workers.started)
            b_at = workers.started.index((b, b_job))
    finally:
        await workers.stop()
    a_between = [job for tenant, job in workers.started[mark:b_at] if tenant == a]
    assert len(a_between) <= settings.dispatch_depth == 2, workers.started
    assert queue.violations == []


@BOTH
async def test_with_batching_weights_four_and_one_still_share_the_starts_four_to_one(env):
    settings, runtime, queue, dispatcher = env
    heavy = await add_tenant(runtime, max_concurrent=20, weight=4)
    light = await add_tenant(runtime, max_concurrent=20, weight=1)
    await queue_jobs(runtime, light, 60)
    await queue_jobs(runtime, heavy, 60)
    workers = BatchedWorkers(runtime, queue, [dispatcher], settings, n=2, rows=4, duration=0.02)
    await workers.start()
    try:
        async with running(dispatcher):
            await workers.wait_for(lambda: len(workers.started) >= 50, timeout=120)
    finally:
        await workers.stop()
    first = [tenant for tenant, _ in workers.started[:50]]
    share = first.count(heavy) / len(first)
    assert 0.7 <= share <= 0.9, share
    assert queue.violations == []


@BOTH
async def test_idle_batched_workers_get_a_job_for_every_free_row_and_no_more_than_depth_ahead(
    env,
):
    """2 idle workers of 4 rows and 20 queued jobs of four tenants: one round sends 8 (not
    2), two of each tenant. Once all 8 rows are busy only `dispatch_depth` more wait."""
    settings, runtime, queue, dispatcher = env
    tenants = [await add_tenant(runtime) for _ in range(4)]
    for tenant in tenants:
        await queue_jobs(runtime, tenant, 5)
    workers = BatchedWorkers(runtime, queue, [dispatcher], settings, n=2, rows=4, duration=60)
    await workers.beat()  # they are up, and have received nothing yet

    assert await dispatcher.run_once() == 8
    assert await dispatcher.run_once() == 0  # every free row has its job waiting
    assert Counter(queue.sent_tenants) == {tenant: 2 for tenant in tenants}  # fair order
    gauges = await dispatcher.refresh_gauges()
    assert gauges == {"pending": 12, "in_flight": 8, "capacity_rows": 8, "free_rows": 8}
    assert REGISTRY.get_sample_value("pingvas_render_worker_capacity_rows") == 8
    assert REGISTRY.get_sample_value("pingvas_render_worker_free_rows") == 8

    await workers.start()
    try:
        await workers.wait_for(lambda: len(workers.started) == 8)
        assert await dispatcher.run_once() == settings.dispatch_depth == 2
        assert await dispatcher.run_once() == 0
        assert await dispatched(runtime) == 2
        gauges = await dispatcher.refresh_gauges()
        assert gauges == {"pending": 10, "in_flight": 10, "capacity_rows": 8, "free_rows": 0}
        assert REGISTRY.get_sample_value("pingvas_render_worker_free_rows") == 0
    finally:
        await workers.stop()
    assert queue.violations == []


@BOTH
async def test_a_worker_that_stops_heartbeating_no_longer_gets_jobs(env):
    settings, runtime, queue, dispatcher = env
    dispatcher.stale_s = queue.stale_s = 0.5
    tenant = await add_tenant(runtime, max_concurrent=20)
    await queue_jobs(runtime, tenant, 20)
    workers = BatchedWorkers(runtime, queue, [dispatcher], settings, n=2, rows=4)
    first, second = workers.ids
    await workers.beat()
    await asyncio.sleep(0.6)
    await workers.beat(first)  # the second one went silent

    assert await dispatcher.run_once() == 4  # the first worker's rows only
    assert await dispatcher.refresh_gauges() == {
        "pending": 16,
        "in_flight": 4,
        "capacity_rows": 4,
        "free_rows": 4,
    }
    await workers.beat(second)  # back
    assert await dispatcher.run_once() == 4
    assert await dispatched(runtime) == 8
    assert queue.violations == []
