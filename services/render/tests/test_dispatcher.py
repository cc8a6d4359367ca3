"""The dispatcher and the work queue against moto's real server and a real database:
WorkItems on the queue, the shallow queue, concurrency limits, send failures and
crashes, leadership on Postgres, the gauges and the queue positions."""

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

sys.path.insert(0, str(Path(__file__).parent))

from dispatch_support import (  # noqa: E402
    CheckingQueue,
    Workers,
    add_tenant,
    job_row,
    make_settings,
    open_runtime,
    queue_jobs,
    running,
    statuses,
)
from pingvas_render.adapters.db import jobs, scheduler  # noqa: E402
from pingvas_render.adapters.work_queue import WorkQueue, WorkQueueError  # noqa: E402
from pingvas_render.catalog import load_catalog  # noqa: E402
from pingvas_render.usecases.dispatcher import Dispatcher, queue_positions  # noqa: E402

BOTH = pytest.mark.parametrize("db_backend", ["sqlite", "postgres"], indirect=True)


DISPATCHERS: list[Dispatcher] = []


def new_dispatcher(runtime, settings, queue) -> Dispatcher:
    """A dispatcher that the test's teardown releases (its leader lock on Postgres)."""
    dispatcher = Dispatcher(runtime, settings, queue)
    DISPATCHERS.append(dispatcher)
    return dispatcher


@pytest.fixture
async def env(db_backend, moto_endpoint, bus_prefix):
    """(settings, runtime, queue): a migrated database and a fresh work queue."""
    settings = make_settings(db_backend, moto_endpoint, bus_prefix)
    runtime = await open_runtime(settings)
    queue = CheckingQueue(settings, runtime)
    await queue.ensure()
    yield settings, runtime, queue
    while DISPATCHERS:
        await DISPATCHERS.pop().release()
    await queue.close()
    await runtime.db.dispose()


async def drain(queue: WorkQueue) -> list:
    messages = []
    while batch := await queue.receive(max_messages=10, wait_s=0):
        messages += batch
    return messages


# -- the work queue -------------------------------------------------------------------------


async def test_work_queue_round_trip_with_group_id_and_dead_letter_queue(moto_endpoint, bus_prefix):
    settings = make_settings({}, moto_endpoint, bus_prefix)
    async with WorkQueue(settings) as queue:
        url = await queue.ensure()
        assert url.endswith(f"{bus_prefix}-render-work")
        assert await queue.ensure() == url  # idempotent
        sqs = await queue._client()
        attrs = (await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]))["Attributes"]
        assert f"{bus_prefix}-render-work-dlq" in attrs["RedrivePolicy"]

        await queue.send({"job_id": "j1", "tenant_id": "t1"}, group_id="t1")
        # moto's server takes MessageGroupId on a standard queue, as SQS fair queues do
        assert queue.group_ids
        [message] = await queue.receive(max_messages=10, wait_s=1, visibility_s=1)
        assert message.body == {"job_id": "j1", "tenant_id": "t1"}
        assert message.receive_count == 1
        assert message.group_id == "t1"
        await queue.extend(message.receipt_handle, 0)  # visible again at once
        [again] = await queue.receive(max_messages=10, wait_s=1)
        assert again.receive_count == 2
        await queue.delete(again.receipt_handle)
        assert await queue.receive(max_messages=10, wait_s=0) == []
        assert await queue.depth() == {"visible": 0, "in_flight": 0, "delayed": 0}

        # a poison body is dropped, not handed to a worker
        await sqs.send_message(QueueUrl=url, MessageBody="not json")
        assert await queue.receive(max_messages=10, wait_s=0) == []
        assert (await queue.depth())["visible"] == 0


async def test_work_queue_falls_back_when_the_endpoint_refuses_group_ids(moto_endpoint, bus_prefix):
    from botocore.exceptions import ClientError

    settings = make_settings({}, moto_endpoint, bus_prefix)
    async with WorkQueue(settings) as queue:
        await queue.ensure()
        sqs = await queue._client()
        real = sqs.send_message

        async def picky(**params):
            if "MessageGroupId" in params:
                raise ClientError(
                    {
                        "Error": {
                            "Code": "InvalidParameterValue",
                            "Message": "MessageGroupId is only for FIFO queues",
                        }
                    },
                    "SendMessage",
                )
            return await real(**params)

        sqs.send_message = picky
        try:
            await queue.send({"job_id": "j1"}, group_id="t1")
            await queue.send({"job_id": "j2"}, group_id="t1")
        finally:
            sqs.send_message = real
        assert not queue.group_ids
        bodies = [m.body["job_id"] for m in await drain(queue)]
        assert sorted(bodies) == ["j1", "j2"]


async def test_work_queue_send_failure_is_a_work_queue_error(moto_endpoint, bus_prefix):
    settings = make_settings({}, moto_endpoint, bus_prefix, work_queue_name="never-created")
    async with WorkQueue(settings) as queue:
        with pytest.raises(WorkQueueError):
            await queue.send({"job_id": "j1"}, group_id="t1")


# -- dispatching ------------------------------------------------------------------------------


@BOTH
async def test_sends_work_items_and_keeps_the_queue_shallow(env):
    settings, runtime, queue = env
    tenant = await add_tenant(runtime, max_concurrent=10)
    ids = await queue_jobs(runtime, tenant, 5)
    dispatcher = new_dispatcher(runtime, settings, queue)

    assert await dispatcher.run_once() == 2  # dispatch_depth
    assert await dispatcher.run_once() == 0  # nothing started: the queue stays 2 deep
    state = await statuses(runtime)
    assert [state[i] for i in ids] == ["dispatched"] * 2 + ["queued"] * 3
    row = await job_row(runtime, ids[0])
    assert row.dispatched_at is not None

    messages = await drain(queue)
    assert [m.body["job_id"] for m in messages] == ids[:2]  # oldest first
    item = messages[0].body
    assert set(item) == {"job_id", "tenant_id", "request", "model", "image_ids", "traceparent"}
    assert item["tenant_id"] == tenant
    assert item["request"]["seed"] == row.seed
    assert item["image_ids"] == row.image_ids
    assert item["model"] == load_catalog().get("tiny-sd1").as_dict()
    assert messages[0].group_id == tenant
    assert queue.violations == []


@BOTH
async def test_never_more_than_max_concurrent_jobs_of_a_tenant_in_flight(env):
    settings, runtime, queue = env
    settings.dispatch_depth = 5
    queue.depth = 5
    capped = await add_tenant(runtime, max_concurrent=2)
    other = await add_tenant(runtime, max_concurrent=10)
    await queue_jobs(runtime, capped, 12)
    await queue_jobs(runtime, other, 12)
    dispatcher = new_dispatcher(runtime, settings, queue)
    workers = Workers(runtime, queue, [dispatcher], n=6, duration=0.1)
    workers.start()
    try:
        async with running(dispatcher):
            await workers.wait_for(lambda: len(workers.started) == 24, timeout=60)
    finally:
        await workers.stop()
    assert queue.violations == []
    assert queue.max_in_flight[capped] == 2  # the limit was reached, never passed
    assert queue.max_dispatched <= 5


@BOTH
async def test_a_failed_send_puts_the_job_back(env):
    settings, runtime, queue = env
    tenant = await add_tenant(runtime)
    [job] = await queue_jobs(runtime, tenant, 1)
    dispatcher = new_dispatcher(runtime, settings, queue)

    queue.fail_next = 1
    assert await dispatcher.run_once() == 0
    row = await job_row(runtime, job)
    assert (row.status, row.dispatched_at) == ("queued", None)
    async with runtime.db.sessionmaker() as session:
        assert await session.scalar(sa.select(scheduler.c["pass"])) == 0.0  # pass restored

    assert await dispatcher.run_once() == 1
    assert (await job_row(runtime, job)).status == "dispatched"
    assert [m.body["job_id"] for m in await drain(queue)] == [job]


class Crash(BaseException):
    """The process dies between the commit and the send."""


@BOTH
async def test_a_crash_between_commit_and_send_does_not_lose_the_job(env):
    settings, runtime, queue = env
    tenant = await add_tenant(runtime)
    [job] = await queue_jobs(runtime, tenant, 1)
    queue.fail_next, queue.fail_with = 1, Crash
    crashed = new_dispatcher(runtime, settings, queue)
    with pytest.raises(Crash):
        await crashed.run_once()
    await crashed._drop_lock_conn()  # the process is gone, and its connection (lock) with it
    assert (await job_row(runtime, job)).status == "dispatched"  # committed, never sent
    assert await drain(queue) == []

    # the restarted dispatcher: within the timeout the job is left alone ...
    restarted = new_dispatcher(runtime, settings, queue)
    assert await restarted.run_once() == 0
    # ... after it, the sweep puts it back and it is sent
    restarted.timeout_s = 0.05
    restarted._last_sweep = 0.0
    await asyncio.sleep(0.1)
    assert await restarted.run_once() == 1
    assert [m.body["job_id"] for m in await drain(queue)] == [job]


@BOTH
async def test_a_duplicate_message_is_refused_by_the_start_call(env):
    """A swept job may be in SQS twice (the first send was slow, not lost): only one copy
    starts it; the worker deletes the other."""
    settings, runtime, queue = env
    tenant = await add_tenant(runtime)
    [job] = await queue_jobs(runtime, tenant, 1)
    dispatcher = new_dispatcher(runtime, settings, queue)
    assert await dispatcher.run_once() == 1
    dispatcher.timeout_s = 0.05  # the first send counts as lost
    await asyncio.sleep(0.1)
    dispatcher._last_sweep = 0.0
    assert await dispatcher.run_once() == 1  # swept and sent again
    workers = Workers(runtime, queue, [dispatcher], n=1, duration=0)
    workers.start()
    try:
        await workers.wait_for(lambda: len(workers.started) + len(workers.refused) == 2)
    finally:
        await workers.stop()
    assert workers.started == [(tenant, job)]
    assert workers.refused == [job]
    assert (await job_row(runtime, job)).status == "completed"
    assert await drain(queue) == []


@BOTH
async def test_gauges_show_pending_and_in_flight(env):
    settings, runtime, queue = env
    tenant = await add_tenant(runtime)
    ids = await queue_jobs(runtime, tenant, 5)
    dispatcher = new_dispatcher(runtime, settings, queue)

    def gauge(name):
        return REGISTRY.get_sample_value(name)

    assert await dispatcher.run_once() == 2
    assert gauge("pingvas_render_jobs_pending") == 3
    assert gauge("pingvas_render_jobs_in_flight") == 2
    async with runtime.db.transaction() as session:  # a worker starts one
        await session.execute(sa.update(jobs).where(jobs.c.id == ids[0]).values(status="running"))
    assert await dispatcher.run_once() == 1
    assert gauge("pingvas_render_jobs_pending") == 2
    assert gauge("pingvas_render_jobs_in_flight") == 3
    assert await dispatcher.refresh_gauges() == {
        "pending": 2,
        "in_flight": 3,
        "capacity_rows": 0,  # no worker reports a capacity
        "free_rows": 0,
    }

    # the alert's gauge: how long the oldest still-queued job has waited
    async with runtime.db.transaction() as session:
        await session.execute(
            sa.update(jobs)
            .where(jobs.c.id == ids[4])
            .values(created_at=datetime.now(UTC) - timedelta(minutes=10))
        )
    await dispatcher.refresh_gauges()
    assert 600 <= gauge("pingvas_render_oldest_pending_job_seconds") < 660
    async with runtime.db.transaction() as session:  # nothing waits any more
        await session.execute(
            sa.update(jobs).where(jobs.c.status == "queued").values(status="running")
        )
    await dispatcher.refresh_gauges()
    assert gauge("pingvas_render_oldest_pending_job_seconds") == 0


@BOTH
async def test_queue_positions_follow_the_fair_order(env):
    settings, runtime, queue = env
    a = await add_tenant(runtime)
    b = await add_tenant(runtime)
    a_jobs = await queue_jobs(runtime, a, 4)
    dispatcher = new_dispatcher(runtime, settings, queue)
    assert await dispatcher.run_once() == 2  # a's first two wait in SQS
    b_jobs = await queue_jobs(runtime, b, 2)
    async with runtime.db.sessionmaker() as session:
        pa = await queue_positions(session, a)
        pb = await queue_positions(session, b)
        assert await queue_positions(session, "nobody") == {}
    assert pa[a_jobs[0]] == 0 and pa[a_jobs[1]] == 1
    # b joins at a's pass, fewer in flight wins the tie: b1, a3, b2, a4
    assert pb[b_jobs[0]] == 2
    assert pa[a_jobs[2]] == 3
    assert pb[b_jobs[1]] == 4
    assert pa[a_jobs[3]] == 5

    # and the dispatcher does take them in that order
    order = []
    for _ in range(4):
        async with runtime.db.transaction() as session:
            await session.execute(
                sa.update(jobs).where(jobs.c.status == "dispatched").values(status="running")
            )
        await dispatcher.run_once()
        order += [m.body["job_id"] for m in await drain(queue)]
    assert order[2:] == [b_jobs[0], a_jobs[2], b_jobs[1], a_jobs[3]]


# -- leadership (Postgres) ------------------------------------------------------------------


@pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
async def test_two_dispatchers_on_postgres_never_send_a_job_twice(env):
    settings, runtime, queue = env
    other_runtime = await open_runtime(settings)
    try:
        tenants = [await add_tenant(runtime, max_concurrent=3) for _ in range(3)]
        for tenant in tenants:
            await queue_jobs(runtime, tenant, 10)
        first = new_dispatcher(runtime, settings, queue)
        second = new_dispatcher(other_runtime, settings, queue)

        # racing run_once: one leads, the other stands by
        counts = await asyncio.gather(first.run_once(), second.run_once())
        assert sorted(counts) == [0, 2]
        leader, standby = (first, second) if counts[0] else (second, first)
        assert leader.is_leader and not standby.is_leader

        workers = Workers(runtime, queue, [first, second], n=3, duration=0.01)
        workers.start()
        try:
            async with running(standby):
                async with running(leader):
                    await workers.wait_for(lambda: len(workers.started) >= 10, timeout=60)
                    assert standby.sent == 0
                # the leader's replica goes: its loop ends and gives up the lock ...
                assert not leader.is_leader
                await workers.wait_for(lambda: len(workers.started) == 30, timeout=60)
        finally:
            await workers.stop()
        assert standby.sent > 0  # ... and the standby took over
        assert sorted(queue.sent_jobs) == sorted(set(queue.sent_jobs))  # no job sent twice
        assert len(workers.received) == 30 and workers.refused == []
        assert queue.violations == []
    finally:
        await other_runtime.db.dispose()


@pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
async def test_a_standby_takes_over_when_the_leaders_connection_dies(env):
    settings, runtime, queue = env
    other_runtime = await open_runtime(settings)
    try:
        tenant = await add_tenant(runtime)
        await queue_jobs(runtime, tenant, 3)
        first = new_dispatcher(runtime, settings, queue)
        second = new_dispatcher(other_runtime, settings, queue)
        assert await first.run_once() == 2
        assert await second.run_once() == 0
        pid = await first._lock_conn.scalar(sa.text("SELECT pg_backend_pid()"))
        async with other_runtime.db.engine.connect() as conn:
            await conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        async with runtime.db.transaction() as session:
            await session.execute(
                sa.update(jobs).where(jobs.c.status == "dispatched").values(status="running")
            )
        assert await second.run_once() == 1
        assert second.is_leader
        assert await first.run_once() == 0  # it noticed, and stands by
        assert not first.is_leader
    finally:
        await second.release()
        await other_runtime.db.dispose()
