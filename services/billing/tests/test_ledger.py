"""The credit ledger: render's job events move credits exactly once in any order, periods
grant and expire, exhaustion is published, and the totals stay exact under concurrency
(against a real SQLite file or Postgres schema, migrated as the service does)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from pingvas_billing.adapters.db import balances, metadata, subscriptions
from pingvas_billing.adapters.db import ledger as entries
from pingvas_billing.app import MIGRATIONS
from pingvas_billing.consumers import register_jobs
from pingvas_billing.settings import Settings
from pingvas_billing.usecases import ledger
from prometheus_client import REGISTRY

from pingvas_contracts import EventData, envelope_of, example
from pingvas_contracts.events.render import JobCancelled, JobCompleted, JobFailed, JobQueued
from pingvas_kit.db import Database, now
from pingvas_kit.inbox import EventConsumer
from pingvas_kit.migrations import upgrade
from pingvas_kit.outbox import Outbox

#: the tests' "now": a day ahead, so the events of a test come after its grants (the ledger
#: counts a period's spending from its grant on)
T0 = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class Book:
    """The ledger on a migrated database, with render's events fed through an inbox."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.outbox = Outbox(metadata.tables["outbox"], source="billing")
        self.consumer = EventConsumer("billing", db, metadata.tables["inbox"])
        register_jobs(self.consumer, SimpleNamespace(outbox=self.outbox, db=db))

    # -- setting up ----------------------------------------------------------------------

    async def tenant(self, credits: int = 0, *, plan: str = "free") -> str:
        tenant_id = str(uuid.uuid4())
        async with self.db.transaction() as session:
            await session.execute(
                subscriptions.insert().values(
                    id=str(uuid.uuid4()),
                    tenant_id=tenant_id,
                    plan=plan,
                    status="active",
                    current_period_start=T0,
                    current_period_end=T0 + timedelta(days=30),
                    created_at=now(),
                    updated_at=now(),
                )
            )
            if credits:
                await ledger.start_period(
                    session,
                    self.outbox,
                    tenant_id=tenant_id,
                    plan=plan,
                    credits=credits,
                    reference=f"plan_start:{tenant_id}:{stamp(T0)}",
                    period_end=T0 + timedelta(days=30),
                    at=T0 - timedelta(minutes=1),
                )
        return tenant_id

    # -- render's events -----------------------------------------------------------------

    async def deliver(self, tenant_id: str, data: EventData, *, times: int = 1):
        envelope = envelope_of(data, tenant_id=tenant_id)
        for _ in range(times):
            await self.consumer(envelope)

    @staticmethod
    def queued(job_id: str, credits: int, **who: Any) -> JobQueued:
        return example(
            JobQueued,
            job_id=job_id,
            user_id=who.get("user_id"),
            api_key_id=who.get("api_key_id"),
            request={
                "prompt": "a red fox in snow",
                "model": "sd-1.5",
                "width": 512,
                "height": 512,
                "num_images": 1,
                "steps": 25,
                "cfg_scale": 7.0,
                "scheduler": "euler",
                "seed": 1,
            },
            credits_reserved=credits,
            queued_at=T0,
        )

    @staticmethod
    def completed(
        job_id: str, reserved: int, used: int, at: datetime = T0, **who: Any
    ) -> JobCompleted:
        return example(
            JobCompleted,
            job_id=job_id,
            user_id=who.get("user_id"),
            api_key_id=who.get("api_key_id"),
            image_ids=[str(uuid.uuid4())],
            credits_reserved=reserved,
            credits_used=used,
            completed_at=at,
        )

    @staticmethod
    def failed(job_id: str, reserved: int) -> JobFailed:
        return example(
            JobFailed,
            job_id=job_id,
            user_id=None,
            error_code="out_of_memory",
            reason="The GPU ran out of memory.",
            attempts=1,
            credits_reserved=reserved,
            credits_released=reserved,
            failed_at=T0,
        )

    @staticmethod
    def cancelled(job_id: str, reserved: int) -> JobCancelled:
        return example(
            JobCancelled,
            job_id=job_id,
            user_id=None,
            cancelled_by="user",
            cancelled_by_user_id=None,
            stage="queued",
            credits_reserved=reserved,
            credits_released=reserved,
            cancelled_at=T0,
        )

    # -- reading -------------------------------------------------------------------------

    async def totals(self, tenant_id: str) -> dict[str, int]:
        async with self.db.sessionmaker() as session:
            held = await ledger.totals(session, tenant_id)
        return {"balance": held.balance, "reserved": held.reserved}

    async def kinds(self, tenant_id: str) -> Counter:
        async with self.db.sessionmaker() as session:
            rows = await session.scalars(
                sa.select(entries.c.kind).where(entries.c.tenant_id == tenant_id)
            )
            return Counter(rows)

    async def derived(self, tenant_id: str) -> dict[str, int]:
        """The totals summed from the entries: they always equal `balances`."""
        async with self.db.sessionmaker() as session:
            balance, reserved = (
                await session.execute(
                    sa.select(
                        sa.func.coalesce(sa.func.sum(entries.c.credits), 0),
                        sa.func.coalesce(sa.func.sum(entries.c.reserved), 0),
                    ).where(entries.c.tenant_id == tenant_id)
                )
            ).one()
        return {"balance": int(balance), "reserved": int(reserved)}

    async def events(self, name: str, tenant_id: str) -> list[dict[str, Any]]:
        table = self.outbox.table
        async with self.db.sessionmaker() as session:
            rows = await session.scalars(
                sa.select(table.c.body)
                .where(
                    table.c.type == f"pingvas.billing.credits.{name}.v1",
                    table.c.tenant_id == tenant_id,
                )
                .order_by(table.c.position)
            )
            return [json.loads(body)["data"] for body in rows]


@pytest.fixture
async def book(db_backend) -> AsyncIterator[Book]:
    settings = Settings(**{k: v for k, v in db_backend.items() if k != "backend"})
    db = Database(settings)
    await upgrade(db, MIGRATIONS)
    try:
        yield Book(db)
    finally:
        await db.dispose()


BOTH = pytest.mark.parametrize("db_backend", ["sqlite", "postgres"], indirect=True)


# -- render's jobs ---------------------------------------------------------------------------


@BOTH
async def test_completion_delivered_twice_is_one_debit(book):
    tenant = await book.tenant(50)
    job = str(uuid.uuid4())
    await book.deliver(tenant, book.queued(job, 4), times=2)
    assert await book.totals(tenant) == {"balance": 50, "reserved": 4}
    completed = book.completed(job, 4, 3)
    await book.deliver(tenant, completed, times=2)
    # a redelivery that is a new envelope (render's relay published it twice) too
    await book.deliver(tenant, completed)
    assert await book.totals(tenant) == {"balance": 47, "reserved": 0}
    assert await book.kinds(tenant) == {"grant": 1, "reserve": 1, "settle": 1}
    assert await book.derived(tenant) == await book.totals(tenant)


@BOTH
async def test_settle_before_reserve_gives_the_same_totals(book):
    in_order, out_of_order = await book.tenant(50), await book.tenant(50)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    await book.deliver(in_order, book.queued(a, 4))
    await book.deliver(in_order, book.completed(a, 4, 2))

    await book.deliver(out_of_order, book.completed(b, 4, 2))
    assert await book.totals(out_of_order) == {"balance": 48, "reserved": 0}
    await book.deliver(out_of_order, book.queued(b, 4))  # late: changes nothing

    assert await book.totals(in_order) == await book.totals(out_of_order)
    assert await book.totals(out_of_order) == {"balance": 48, "reserved": 0}
    assert await book.kinds(out_of_order) == {"grant": 1, "reserve": 1, "settle": 1}


@BOTH
async def test_release_after_failure_or_cancellation_and_a_job_ends_once(book):
    tenant = await book.tenant(50)
    failed, cancelled, early = (str(uuid.uuid4()) for _ in range(3))
    await book.deliver(tenant, book.queued(failed, 8))
    await book.deliver(tenant, book.queued(cancelled, 4))
    assert await book.totals(tenant) == {"balance": 50, "reserved": 12}

    await book.deliver(tenant, book.failed(failed, 8), times=2)
    assert await book.totals(tenant) == {"balance": 50, "reserved": 4}
    await book.deliver(tenant, book.cancelled(cancelled, 4))
    assert await book.totals(tenant) == {"balance": 50, "reserved": 0}

    # a cancellation before its queued event: the reserve is recorded, then released
    await book.deliver(tenant, book.cancelled(early, 6))
    await book.deliver(tenant, book.queued(early, 6))
    # a contradictory completion after the release charges nothing
    await book.deliver(tenant, book.completed(failed, 8, 8))
    assert await book.totals(tenant) == {"balance": 50, "reserved": 0}
    assert await book.kinds(tenant) == {"grant": 1, "reserve": 3, "release": 3}
    assert await book.derived(tenant) == await book.totals(tenant)


def credit_counters() -> dict[str, float]:
    return {
        kind: REGISTRY.get_sample_value(f"pingvas_billing_credits_{kind}_total") or 0.0
        for kind in ("reserved", "settled", "released", "charged")
    }


@BOTH
async def test_the_credit_counters_count_each_committed_entry_once(book):
    tenant = await book.tenant(50)
    done, failed, rolled_back = (str(uuid.uuid4()) for _ in range(3))
    before = credit_counters()
    await book.deliver(tenant, book.queued(done, 4), times=2)
    await book.deliver(tenant, book.completed(done, 4, 3), times=2)
    await book.deliver(tenant, book.failed(failed, 6))  # its reserve is written first
    with pytest.raises(RuntimeError):
        async with book.db.transaction() as s:
            await ledger.reserve(s, tenant_id=tenant, job_id=rolled_back, credits=9)
            raise RuntimeError("the handler failed after writing: the delivery comes again")
    after = credit_counters()
    assert {kind: after[kind] - before[kind] for kind in after} == {
        "reserved": 10,
        "settled": 4,
        "released": 6,
        "charged": 3,
    }


async def test_every_delivery_order_gives_the_same_totals(book):
    tenant = await book.tenant(100)
    jobs = [str(uuid.uuid4()) for _ in range(6)]
    deliveries = []
    for i, job in enumerate(jobs):
        deliveries.append(book.queued(job, 5))
        if i % 3 == 0:
            deliveries.append(book.completed(job, 5, 5))
        elif i % 3 == 1:
            deliveries.append(book.completed(job, 5, 2))
        else:
            deliveries.append(book.failed(job, 5))
    for data in reversed(deliveries):  # every end before its start
        await book.deliver(tenant, data)
    for data in deliveries:  # and everything again
        await book.deliver(tenant, data)
    assert await book.totals(tenant) == {"balance": 100 - 5 - 2 - 5 - 2, "reserved": 0}


async def test_ledger_functions_report_whether_they_recorded(book):
    tenant = await book.tenant(10)
    job = str(uuid.uuid4())
    async with book.db.transaction() as s:
        assert await ledger.reserve(s, tenant_id=tenant, job_id=job, credits=3)
        assert not await ledger.reserve(s, tenant_id=tenant, job_id=job, credits=3)
        with pytest.raises(ledger.InsufficientCredits):
            await ledger.reserve(
                s, tenant_id=tenant, job_id=str(uuid.uuid4()), credits=8, require_available=True
            )
        assert await ledger.settle(s, tenant_id=tenant, job_id=job, reserved=3, used=3)
        assert not await ledger.settle(s, tenant_id=tenant, job_id=job, reserved=3, used=3)
        assert not await ledger.release(s, tenant_id=tenant, job_id=job, reserved=3)
    assert await book.totals(tenant) == {"balance": 7, "reserved": 0}


# -- periods ---------------------------------------------------------------------------------


@BOTH
async def test_a_new_period_expires_the_unused_credits_and_grants(book):
    tenant = await book.tenant(50)
    [first] = await book.events("granted", tenant)
    assert first["credits"] == 50 and first["reason"] == "plan_start"
    assert first["balance_after"] == 50 and first["plan"] == "free"

    spent, running = str(uuid.uuid4()), str(uuid.uuid4())
    await book.deliver(tenant, book.queued(spent, 12))
    await book.deliver(tenant, book.completed(spent, 12, 12, at=T0 + timedelta(days=3)))
    await book.deliver(tenant, book.queued(running, 8))  # still running

    period = T0 + timedelta(days=30)
    subscription_id = str(uuid.uuid4())
    for _ in range(2):  # the same renewal twice: one expiry, one grant
        async with book.db.transaction() as s:
            await ledger.start_period(
                s,
                book.outbox,
                tenant_id=tenant,
                plan="pro",
                credits=2000,
                reference=f"renewal:{subscription_id}:{stamp(period)}",
                period_end=period + timedelta(days=31),
                at=period,
            )
    # 50 granted, 12 spent: 38 unused, of which 8 are held by the running job
    [expired] = await book.events("expired", tenant)
    assert expired["credits"] == 30 and expired["reason"] == "period_end"
    assert expired["balance_after"] == 0
    granted = await book.events("granted", tenant)
    assert [g["credits"] for g in granted] == [50, 2000]
    assert granted[1]["reason"] == "renewal" and granted[1]["balance_after"] == 2000
    assert await book.totals(tenant) == {"balance": 2008, "reserved": 8}
    async with book.db.sessionmaker() as s:
        held = await ledger.totals(s, tenant)
    assert held.next_grant_at == period + timedelta(days=31)

    # the running job completes in the new period and is charged from the new grant
    await book.deliver(tenant, book.completed(running, 8, 8, at=period))
    assert await book.totals(tenant) == {"balance": 2000, "reserved": 0}
    assert await book.derived(tenant) == await book.totals(tenant)


async def test_overspent_grants_expire_nothing_and_purchases_never_expire(book):
    tenant = await book.tenant(50)
    async with book.db.transaction() as s:
        await ledger.grant(
            s,
            book.outbox,
            tenant_id=tenant,
            credits=100,
            reference="purchase:order-1",
            reason="purchase",
        )
    job = str(uuid.uuid4())
    await book.deliver(tenant, book.completed(job, 70, 70, at=T0 + timedelta(days=1)))
    async with book.db.transaction() as s:
        await ledger.start_period(
            s,
            book.outbox,
            tenant_id=tenant,
            plan="free",
            credits=50,
            reference=f"renewal:{tenant}:{stamp(T0 + timedelta(days=30))}",
            period_end=T0 + timedelta(days=61),
        )
    # 70 spent: the 50 of the plan first, 20 of the purchase; 80 of it stay
    assert await book.events("expired", tenant) == []
    assert await book.totals(tenant) == {"balance": 130, "reserved": 0}
    assert await book.kinds(tenant) == {"grant": 3, "reserve": 1, "settle": 1, "expire": 1}


async def test_free_tenants_get_their_next_period_when_it_is_due(book):
    due = await book.tenant(50)
    paid = await book.tenant(2000, plan="pro")
    later = await book.tenant(50)
    async with book.db.transaction() as s:
        await s.execute(
            balances.update()
            .where(balances.c.tenant_id == later)
            .values(next_grant_at=T0 + timedelta(days=90))
        )
    job = str(uuid.uuid4())
    await book.deliver(due, book.completed(job, 20, 20, at=T0 + timedelta(days=2)))

    at = T0 + timedelta(days=30, minutes=1)
    assert await ledger.grant_due_free_periods(book.db, book.outbox, at) == 1
    assert await ledger.grant_due_free_periods(book.db, book.outbox, at) == 0
    assert await book.totals(due) == {"balance": 50, "reserved": 0}
    [expired] = await book.events("expired", due)
    assert expired["credits"] == 30
    assert [g["reason"] for g in await book.events("granted", due)] == ["plan_start", "renewal"]
    async with book.db.sessionmaker() as s:
        assert (await ledger.totals(s, due)).next_grant_at == ledger.add_month(
            T0 + timedelta(days=30)
        )
    assert await book.totals(paid) == {"balance": 2000, "reserved": 0}
    assert await book.totals(later) == {"balance": 50, "reserved": 0}

    # away for three months: the current period only
    at += timedelta(days=95)
    assert await ledger.grant_due_free_periods(book.db, book.outbox, at) == 2
    end = ledger.add_month(T0 + timedelta(days=30))
    while end <= at:
        end = ledger.add_month(end)
    async with book.db.sessionmaker() as s:
        assert (await ledger.totals(s, due)).next_grant_at == end
    assert end - at < timedelta(days=32)
    assert await book.totals(due) == {"balance": 50, "reserved": 0}


def test_months_end_on_the_last_day():
    assert ledger.add_month(datetime(2027, 1, 31, tzinfo=UTC)) == datetime(2027, 2, 28, tzinfo=UTC)
    assert ledger.add_month(datetime(2026, 12, 5, tzinfo=UTC)) == datetime(2027, 1, 5, tzinfo=UTC)


async def test_adjustments_have_a_reason_and_an_author_and_never_overdraw(book):
    tenant = await book.tenant(10)
    async with book.db.transaction() as s:
        await ledger.adjust(
            s, book.outbox, tenant_id=tenant, credits=15, reason="goodwill", author="ops:kim"
        )
        await ledger.adjust(
            s, book.outbox, tenant_id=tenant, credits=-5, reason="duplicate", author="ops:kim"
        )
    with pytest.raises(ledger.InsufficientCredits):
        async with book.db.transaction() as s:
            await ledger.adjust(
                s, book.outbox, tenant_id=tenant, credits=-21, reason="x", author="ops:kim"
            )
    assert await book.totals(tenant) == {"balance": 20, "reserved": 0}
    assert [g["reason"] for g in await book.events("granted", tenant)] == [
        "plan_start",
        "adjustment",
    ]
    [taken] = await book.events("expired", tenant)
    assert taken == {**taken, "credits": 5, "reason": "adjustment", "balance_after": 20}


# -- exhaustion ------------------------------------------------------------------------------


@BOTH
async def test_exhausted_is_published_once_when_a_settlement_runs_the_balance_out(book):
    tenant = await book.tenant(10)
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    await book.deliver(tenant, book.queued(a, 4))
    await book.deliver(tenant, book.completed(a, 4, 4))
    assert await book.events("exhausted", tenant) == []

    await book.deliver(tenant, book.queued(b, 6))
    await book.deliver(tenant, book.queued(c, 1))  # over: render's view lagged
    await book.deliver(tenant, book.completed(b, 6, 6))
    await book.deliver(tenant, book.completed(c, 1, 1))
    [exhausted] = await book.events("exhausted", tenant)
    assert exhausted["plan"] == "free"
    assert exhausted["balance"] == -1  # b settled while c still held 1 it no longer had
    assert datetime.fromisoformat(exhausted["next_grant_at"]) == T0 + timedelta(days=30)
    assert await book.totals(tenant) == {"balance": -1, "reserved": 0}

    # credits again, spent again: a new run-out, a new event
    async with book.db.transaction() as s:
        await ledger.adjust(
            s, book.outbox, tenant_id=tenant, credits=3, reason="goodwill", author="ops"
        )
    d = str(uuid.uuid4())
    await book.deliver(tenant, book.completed(d, 2, 2))
    assert len(await book.events("exhausted", tenant)) == 2


# -- concurrency (Postgres) ------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
async def test_100_concurrent_reservations_against_a_balance_for_50(book):
    tenant = await book.tenant(50)
    jobs = [str(uuid.uuid4()) for _ in range(100)]

    async def attempt(job: str) -> bool:
        try:
            async with book.db.transaction() as s:
                return await ledger.reserve(
                    s, tenant_id=tenant, job_id=job, credits=1, require_available=True
                )
        except ledger.InsufficientCredits:
            return False

    results = await asyncio.gather(*(attempt(job) for job in jobs))
    assert Counter(results) == {True: 50, False: 50}
    assert await book.totals(tenant) == {"balance": 50, "reserved": 50}
    assert await book.derived(tenant) == {"balance": 50, "reserved": 50}
    reserved = [job for job, ok in zip(jobs, results, strict=True) if ok]

    # render's events for the same jobs, each delivered twice, all at once, some ends
    # before their starts: every job moves its credits exactly once
    deliveries: list[EventData] = []
    for i, job in enumerate(reserved):
        deliveries.append(book.queued(job, 1))
        deliveries.append(book.completed(job, 1, 1) if i % 2 else book.failed(job, 1))
    envelopes = [envelope_of(d, tenant_id=tenant) for d in deliveries]
    await asyncio.gather(*(book.consumer(e) for e in envelopes + envelopes[::-1]))
    assert await book.totals(tenant) == {"balance": 25, "reserved": 0}
    assert await book.derived(tenant) == {"balance": 25, "reserved": 0}
    assert await book.kinds(tenant) == {"grant": 1, "reserve": 50, "settle": 25, "release": 25}
