"""The credit ledger (docs/billing.md, "The credit ledger").

Append-only `ledger` entries, each unique on (kind, reference), and the running totals in
`balances`, written in the caller's transaction. Every function first takes the tenant's
`balances` row (`SELECT .. FOR UPDATE` on Postgres; SQLite has one writer at a time), then
appends with `INSERT .. ON CONFLICT DO NOTHING`: a fact seen twice is one entry, and the
totals move only when an entry was written.

Jobs: `reserve` (render.job.queued), `settle` (render.job.completed), `release`
(render.job.failed / cancelled), all with the reference `job:<job id>`. A settle or release
whose reserve has not arrived yet writes the reserve first, so any order of delivery gives
the same totals; a job ends once (a settle after a release, or the other way round, is
ignored and logged).

Periods: `start_period` expires the unused credits of the earlier period grants (plans
with `rollover = false`) and grants the new period's credits; `grant_due_free_periods` is
the Free plan's sweep at `balances.next_grant_at`. Credits are spent from expiring grants
first: a grant's unused credits are what it gave minus what was settled since it was
made, never more than the available balance (`balance - reserved`, so what running jobs
hold stays theirs; render's projection clamps the same way).

`balance >= 0` holds for every entry but settlements (render reserves before it runs, so a
settlement never exceeds its reservation; `balance - reserved` may still end below zero
when a period's expiry left little). A settlement that leaves `balance - reserved <= 0`
publishes `billing.credits.exhausted`, once per run-out (its event id is derived from
the number of entries that added credits, so consumers' inboxes drop repeats)."""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts.events.billing import CreditsExhausted, CreditsExpired, CreditsGranted
from pingvas_contracts.plans import PLANS
from pingvas_kit.db import Database, aware, new_id, now
from pingvas_kit.logging import get_logger
from pingvas_kit.outbox import Outbox

from .adapters.db import balances, ledger, subscriptions

log = get_logger("pingvas.billing.ledger")

GRANTED = "pingvas.billing.credits.granted.v1"
EXPIRED = "pingvas.billing.credits.expired.v1"
EXHAUSTED = "pingvas.billing.credits.exhausted.v1"

#: event ids of `credits.exhausted`: uuid5 of the tenant and the run-out
_EXHAUSTED_NS = uuid.UUID("6f1d2c3b-8a4e-5f60-9b7a-1c2d3e4f5a6b")

_GRANT_REASONS = ("plan_start", "renewal", "purchase", "promotion", "refund", "adjustment")


class InsufficientCredits(Exception):
    """A reservation asked to be covered (`require_available`) and was not, or a negative
    adjustment would take the available balance below zero."""

    def __init__(self, needed: int, available: int) -> None:
        super().__init__(f"needs {needed} credits, {available} available")
        self.needed = needed
        self.available = available


@dataclass(frozen=True)
class Totals:
    balance: int
    reserved: int
    next_grant_at: datetime | None

    @property
    def available(self) -> int:
        return self.balance - self.reserved


@dataclass
class _Account:
    """The tenant's locked `balances` row, kept in step with the entries appended."""

    tenant_id: str
    balance: int
    reserved: int
    next_grant_at: datetime | None

    @property
    def available(self) -> int:
        return self.balance - self.reserved


def job_reference(job_id: str) -> str:
    return f"job:{job_id}"


def _utc(value: datetime | None) -> datetime:
    return now() if value is None else aware(value).astimezone(UTC)  # type: ignore[union-attr]


def _is_postgres(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


def _insert(session: AsyncSession, table: sa.Table) -> Any:
    return (pg_insert if _is_postgres(session) else sqlite_insert)(table)


async def _lock(session: AsyncSession, tenant_id: str) -> _Account:
    """The tenant's balances row, created at zero if missing, locked for this transaction."""
    query = sa.select(balances.c.balance, balances.c.reserved, balances.c.next_grant_at).where(
        balances.c.tenant_id == tenant_id
    )
    if _is_postgres(session):
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        await session.execute(
            _insert(session, balances)
            .values(tenant_id=tenant_id, balance=0, reserved=0, updated_at=now())
            .on_conflict_do_nothing(index_elements=["tenant_id"])
        )
        row = (await session.execute(query)).one()
    return _Account(tenant_id, row.balance, row.reserved, aware(row.next_grant_at))


async def _append(
    session: AsyncSession,
    account: _Account,
    *,
    kind: str,
    reference: str,
    credits: int = 0,
    reserved: int = 0,
    at: datetime | None = None,
    **columns: Any,
) -> str | None:
    """Write one entry and move the totals; None (and nothing changed) if the entry was
    already there."""
    entry_id = new_id()
    result = await session.execute(
        _insert(session, ledger)
        .values(
            id=entry_id,
            tenant_id=account.tenant_id,
            kind=kind,
            credits=credits,
            reserved=reserved,
            reference=reference,
            created_at=_utc(at),
            **columns,
        )
        .on_conflict_do_nothing(index_elements=["kind", "reference"])
    )
    if result.rowcount == 0:
        return None
    b = balances.c
    await session.execute(
        balances.update()
        .where(b.tenant_id == account.tenant_id)
        .values(balance=b.balance + credits, reserved=b.reserved + reserved, updated_at=now())
    )
    account.balance += credits
    account.reserved += reserved
    return entry_id


async def _job_entries(session: AsyncSession, reference: str) -> dict[str, int]:
    """{kind: reserved moved} of the job's reserve, settle and release entries."""
    rows = await session.execute(
        sa.select(ledger.c.kind, ledger.c.reserved).where(
            ledger.c.reference == reference, ledger.c.kind.in_(("reserve", "settle", "release"))
        )
    )
    return {kind: moved for kind, moved in rows}


async def _plan_of(session: AsyncSession, tenant_id: str) -> str:
    plan = await session.scalar(
        sa.select(subscriptions.c.plan).where(subscriptions.c.tenant_id == tenant_id)
    )
    return plan if plan in PLANS else "free"


# -- reading ---------------------------------------------------------------------------------


async def totals(session: AsyncSession, tenant_id: str) -> Totals:
    row = (
        await session.execute(
            sa.select(balances.c.balance, balances.c.reserved, balances.c.next_grant_at).where(
                balances.c.tenant_id == tenant_id
            )
        )
    ).first()
    if row is None:
        return Totals(0, 0, None)
    return Totals(row.balance, row.reserved, aware(row.next_grant_at))


# -- jobs ------------------------------------------------------------------------------------


async def reserve(
    session: AsyncSession,
    *,
    tenant_id: str,
    job_id: str,
    credits: int,
    user_id: str | None = None,
    api_key_id: str | None = None,
    at: datetime | None = None,
    require_available: bool = False,
) -> bool:
    """Hold `credits` for the job (render.job.queued). True if this call recorded it.

    Render admitted the job against its own projection, so by default the reservation is
    recorded as the fact it is; `require_available` makes it conditional on
    `balance - reserved` covering it (InsufficientCredits otherwise, nothing written)."""
    if credits < 0:
        raise ValueError("credits must not be negative")
    account = await _lock(session, tenant_id)
    reference = job_reference(job_id)
    if "reserve" in await _job_entries(session, reference):
        return False
    if require_available and account.available < credits:
        raise InsufficientCredits(credits, account.available)
    entry = await _append(
        session,
        account,
        kind="reserve",
        reference=reference,
        reserved=credits,
        at=at,
        job_id=job_id,
        user_id=user_id,
        api_key_id=api_key_id,
    )
    return entry is not None


async def _end_job(
    session: AsyncSession,
    account: _Account,
    *,
    kind: str,
    job_id: str,
    reserved: int,
    user_id: str | None,
    api_key_id: str | None,
    at: datetime | None,
) -> int | None:
    """Checks shared by settle and release: None if the job already ended, else the
    credits its reserve holds (writing the reserve first when it has not arrived)."""
    reference = job_reference(job_id)
    entries = await _job_entries(session, reference)
    if kind in entries:
        return None
    other = "release" if kind == "settle" else "settle"
    if other in entries:
        log.warning("billing.ledger_job_already_ended", job_id=job_id, kind=kind, ended_by=other)
        return None
    if "reserve" in entries:
        return entries["reserve"]
    held = max(reserved, 0)
    await _append(
        session,
        account,
        kind="reserve",
        reference=reference,
        reserved=held,
        at=at,
        job_id=job_id,
        user_id=user_id,
        api_key_id=api_key_id,
    )
    return held


async def settle(
    session: AsyncSession,
    *,
    tenant_id: str,
    job_id: str,
    reserved: int,
    used: int,
    user_id: str | None = None,
    api_key_id: str | None = None,
    at: datetime | None = None,
    outbox: Outbox | None = None,
) -> bool:
    """Charge `used` and drop the job's reservation (render.job.completed). `reserved` is
    the job's reservation, used only when its reserve has not arrived. With an outbox,
    publishes credits.exhausted when the available balance is left at zero or below."""
    account = await _lock(session, tenant_id)
    held = await _end_job(
        session,
        account,
        kind="settle",
        job_id=job_id,
        reserved=reserved,
        user_id=user_id,
        api_key_id=api_key_id,
        at=at,
    )
    if held is None:
        return False
    charge = min(max(used, 0), held)
    if charge != used:
        log.warning("billing.ledger_charge_clamped", job_id=job_id, used=used, reserved=held)
    await _append(
        session,
        account,
        kind="settle",
        reference=job_reference(job_id),
        credits=-charge,
        reserved=-held,
        at=at,
        job_id=job_id,
        user_id=user_id,
        api_key_id=api_key_id,
    )
    if outbox is not None and account.available <= 0:
        await _exhausted(session, outbox, account)
    return True


async def release(
    session: AsyncSession,
    *,
    tenant_id: str,
    job_id: str,
    reserved: int,
    user_id: str | None = None,
    api_key_id: str | None = None,
    at: datetime | None = None,
) -> bool:
    """Drop the job's reservation without a charge (render.job.failed / cancelled)."""
    account = await _lock(session, tenant_id)
    held = await _end_job(
        session,
        account,
        kind="release",
        job_id=job_id,
        reserved=reserved,
        user_id=user_id,
        api_key_id=api_key_id,
        at=at,
    )
    if held is None:
        return False
    await _append(
        session,
        account,
        kind="release",
        reference=job_reference(job_id),
        reserved=-held,
        at=at,
        job_id=job_id,
        user_id=user_id,
        api_key_id=api_key_id,
    )
    return True


async def _exhausted(session: AsyncSession, outbox: Outbox, account: _Account) -> None:
    # one event per run-out: keyed by how many entries have added credits so far
    credited = await session.scalar(
        sa.select(sa.func.count()).where(
            ledger.c.tenant_id == account.tenant_id, ledger.c.credits > 0
        )
    )
    event_id = str(uuid.uuid5(_EXHAUSTED_NS, f"{account.tenant_id}:{credited}"))
    table = outbox.table
    if await session.scalar(sa.select(table.c.position).where(table.c.event_id == event_id)):
        return
    at = now()
    await outbox.add(
        session,
        CreditsExhausted(
            plan=await _plan_of(session, account.tenant_id),
            balance=min(account.available, 0),
            next_grant_at=account.next_grant_at,
            exhausted_at=at,
            updated_at=at,
        ),
        tenant_id=account.tenant_id,
        event_id=event_id,
    )


# -- grants and expiry -----------------------------------------------------------------------


async def grant(
    session: AsyncSession,
    outbox: Outbox,
    *,
    tenant_id: str,
    credits: int,
    reference: str,
    reason: str,
    plan: str | None = None,
    expires_at: datetime | None = None,
    at: datetime | None = None,
) -> str | None:
    """Add credits (`reason`: plan_start, renewal, purchase, promotion, refund) and
    publish credits.granted; the entry id, or None if `reference` was granted already.
    `at`: when (default now)."""
    if credits <= 0:
        raise ValueError("a grant adds credits")
    if reason not in _GRANT_REASONS:
        raise ValueError(f"unknown grant reason {reason!r}")
    account = await _lock(session, tenant_id)
    at = _utc(at)
    expires_at = _utc(expires_at) if expires_at is not None else None
    entry = await _append(
        session,
        account,
        kind="grant",
        reference=reference,
        credits=credits,
        at=at,
        reason=reason,
        expires_at=expires_at,
    )
    if entry is None:
        return None
    await outbox.add(
        session,
        CreditsGranted(
            grant_id=entry,
            credits=credits,
            reason=reason,
            plan=plan or await _plan_of(session, tenant_id),
            balance_after=account.available,
            expires_at=expires_at,
            granted_at=at,
            updated_at=at,
        ),
        tenant_id=tenant_id,
    )
    return entry


async def expire(
    session: AsyncSession,
    outbox: Outbox,
    *,
    tenant_id: str,
    grant_id: str,
    credits: int,
    plan: str | None = None,
    at: datetime | None = None,
) -> str | None:
    """Lapse up to `credits` of grant `grant_id` (never more than the available balance)
    and publish credits.expired; the entry id, or None if that grant was expired already.
    An expiry of nothing is recorded too (the grant is done with), without an event."""
    account = await _lock(session, tenant_id)
    lapse = max(0, min(credits, account.available))
    at = _utc(at)
    entry = await _append(
        session,
        account,
        kind="expire",
        reference=f"expire:{grant_id}",
        credits=-lapse,
        at=at,
        reason="period_end",
    )
    if entry is None or lapse == 0:
        return entry
    await outbox.add(
        session,
        CreditsExpired(
            expiry_id=entry,
            credits=lapse,
            reason="period_end",
            plan=plan or await _plan_of(session, tenant_id),
            balance_after=max(account.available, 0),
            expired_at=at,
            updated_at=at,
        ),
        tenant_id=tenant_id,
    )
    return entry


async def adjust(
    session: AsyncSession,
    outbox: Outbox,
    *,
    tenant_id: str,
    credits: int,
    reason: str,
    author: str,
    reference: str | None = None,
) -> str | None:
    """An operator's correction, ± credits with a reason and an author; published as
    credits.granted or credits.expired (reason `adjustment`) so render's projection
    follows. Taking credits never goes below the available balance (InsufficientCredits).
    `reference` (default `adjustment:<uuid>`) makes a retried adjustment one entry."""
    if credits == 0:
        raise ValueError("an adjustment moves credits")
    if not reason.strip() or not author.strip():
        raise ValueError("an adjustment needs a reason and an author")
    account = await _lock(session, tenant_id)
    if credits < 0 and account.available < -credits:
        raise InsufficientCredits(-credits, account.available)
    at = now()
    entry = await _append(
        session,
        account,
        kind="adjustment",
        reference=reference or f"adjustment:{new_id()}",
        credits=credits,
        at=at,
        reason=reason[:200],
        author=author[:128],
    )
    if entry is None:
        return None
    plan = await _plan_of(session, tenant_id)
    if credits > 0:
        data: dict[str, Any] = {
            "grant_id": entry,
            "credits": credits,
            "reason": "adjustment",
            "plan": plan,
            "balance_after": account.available,
            "granted_at": at,
            "updated_at": at,
        }
        await outbox.add(session, CreditsGranted.model_validate(data), tenant_id=tenant_id)
    else:
        data = {
            "expiry_id": entry,
            "credits": -credits,
            "reason": "adjustment",
            "plan": plan,
            "balance_after": max(account.available, 0),
            "expired_at": at,
            "updated_at": at,
        }
        await outbox.add(session, CreditsExpired.model_validate(data), tenant_id=tenant_id)
    return entry


def _grant_reason(reference: str) -> str:
    prefix = reference.split(":", 1)[0]
    return prefix if prefix in _GRANT_REASONS else "plan_start"


async def start_period(
    session: AsyncSession,
    outbox: Outbox,
    *,
    tenant_id: str,
    plan: str,
    credits: int,
    reference: str,
    period_end: datetime,
    rollover: bool = False,
    at: datetime | None = None,
) -> None:
    """A new credit period: expire what is left of the earlier period grants (unless the
    plan rolls credits over), grant `credits` (reason from the reference's prefix:
    `plan_start:` or `renewal:`), and set `next_grant_at` to `period_end`. A period whose
    grant `reference` is recorded already changes nothing. `at`: when (default now)."""
    at = _utc(at)
    account = await _lock(session, tenant_id)
    exists = await session.scalar(
        sa.select(ledger.c.id).where(ledger.c.kind == "grant", ledger.c.reference == reference)
    )
    if exists is not None:
        return
    if not rollover:
        await _expire_earlier_grants(session, outbox, account, plan=plan, at=at)
    if credits > 0:
        await grant(
            session,
            outbox,
            tenant_id=tenant_id,
            credits=credits,
            reference=reference,
            reason=_grant_reason(reference),
            plan=plan,
            expires_at=None if rollover else period_end,
            at=at,
        )
    end = _utc(period_end)
    await session.execute(
        balances.update()
        .where(balances.c.tenant_id == tenant_id)
        .values(next_grant_at=end, updated_at=now())
    )
    account.next_grant_at = end


async def _expire_earlier_grants(
    session: AsyncSession, outbox: Outbox, account: _Account, *, plan: str, at: datetime
) -> None:
    l = ledger.c  # noqa: E741
    grants = (
        await session.execute(
            sa.select(l.id, l.credits, l.created_at)
            .where(l.tenant_id == account.tenant_id, l.kind == "grant", l.expires_at.is_not(None))
            .order_by(l.created_at, l.id)
        )
    ).all()
    if not grants:
        return
    expired = set(
        await session.scalars(
            sa.select(l.reference).where(l.tenant_id == account.tenant_id, l.kind == "expire")
        )
    )
    open_grants = [g for g in grants if f"expire:{g.id}" not in expired]
    if not open_grants:
        return
    # spending comes out of the oldest open grant first
    spent = -(
        await session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(l.credits), 0)).where(
                l.tenant_id == account.tenant_id,
                l.kind == "settle",
                l.created_at >= open_grants[0].created_at,
            )
        )
        or 0
    )
    for g in open_grants:
        used = min(g.credits, spent)
        spent -= used
        await expire(
            session,
            outbox,
            tenant_id=account.tenant_id,
            grant_id=g.id,
            credits=g.credits - used,
            plan=plan,
            at=at,
        )


# -- the Free plan's sweep -------------------------------------------------------------------


def add_month(value: datetime) -> datetime:
    """The same time a calendar month later (the 31st becomes the month's last day)."""
    year, month = (value.year + 1, 1) if value.month == 12 else (value.year, value.month + 1)
    day = min(value.day, calendar.monthrange(year, month)[1])
    return value.replace(year=year, month=month, day=day)


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def grant_due_free_periods(db: Database, outbox: Outbox, now: datetime) -> int:
    """Start the next period of every Free tenant whose `next_grant_at` has come (each in
    its own transaction; on Postgres `SKIP LOCKED` lets replicas share the sweep). A tenant
    away for months gets the current period only. Returns how many periods started."""
    at = _utc(now)
    s, b = subscriptions.c, balances.c
    due = (
        sa.select(b.tenant_id, b.next_grant_at, s.id.label("subscription_id"))
        .join(subscriptions, s.tenant_id == b.tenant_id)
        .where(s.plan == "free", b.next_grant_at.is_not(None), b.next_grant_at <= at)
    )
    async with db.sessionmaker() as session:
        tenants = [row.tenant_id for row in await session.execute(due.order_by(b.next_grant_at))]
    started = 0
    credits = PLANS["free"].monthly_credits
    for tenant_id in tenants:
        async with db.transaction() as session:
            query = due.where(b.tenant_id == tenant_id)
            if db.is_postgres:
                query = query.with_for_update(of=balances, skip_locked=True)
            row = (await session.execute(query)).first()
            if row is None:
                continue  # another replica has it, or it is no longer due or free
            start = aware(row.next_grant_at)
            end = add_month(start)
            while end <= at:
                start, end = end, add_month(end)
            await start_period(
                session,
                outbox,
                tenant_id=tenant_id,
                plan="free",
                credits=credits,
                reference=f"renewal:{row.subscription_id}:{_stamp(start)}",
                period_end=end,
                at=at,
            )
            started += 1
    if started:
        log.info("billing.free_periods_started", tenants=started)
    return started


__all__ = [
    "InsufficientCredits",
    "Totals",
    "add_month",
    "adjust",
    "expire",
    "grant",
    "grant_due_free_periods",
    "job_reference",
    "release",
    "reserve",
    "settle",
    "start_period",
    "totals",
]
