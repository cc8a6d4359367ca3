"""The credit ledger's use cases (docs/billing.md, "The credit ledger"): each runs in the
caller's transaction, moves credits through `adapters.ledger` and publishes its events.

Append-only `ledger` entries, each unique on (kind, reference), and the running totals in
`balances`. Every function first takes the tenant's `balances` row, then appends: a fact
seen twice is one entry, and the totals move only when an entry was written.

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

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts.events.billing import CreditsExhausted, CreditsExpired, CreditsGranted
from pingvas_contracts.plans import PLANS
from pingvas_kit.db import Database, new_id, now
from pingvas_kit.logging import get_logger
from pingvas_kit.outbox import Outbox

from ..adapters import ledger as store
from ..adapters.ledger import Account, utc
from ..domain.ledger import (
    GRANT_REASONS,
    InsufficientCredits,
    Totals,
    add_month,
    charge,
    current_period,
    exhausted_event_id,
    expiry_reference,
    grant_reason,
    job_reference,
    lapses,
    other_end,
)
from ..domain.periods import stamp

log = get_logger("pingvas.billing.ledger")

totals = store.totals


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
    account = await store.lock(session, tenant_id)
    reference = job_reference(job_id)
    if "reserve" in await store.job_entries(session, reference):
        return False
    if require_available and account.available < credits:
        raise InsufficientCredits(credits, account.available)
    entry = await store.append(
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
    account: Account,
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
    entries = await store.job_entries(session, reference)
    if kind in entries:
        return None
    other = other_end(kind)
    if other in entries:
        log.warning("billing.ledger_job_already_ended", job_id=job_id, kind=kind, ended_by=other)
        return None
    if "reserve" in entries:
        return entries["reserve"]
    held = max(reserved, 0)
    await store.append(
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
    account = await store.lock(session, tenant_id)
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
    charged = charge(used, held)
    if charged != used:
        log.warning("billing.ledger_charge_clamped", job_id=job_id, used=used, reserved=held)
    await store.append(
        session,
        account,
        kind="settle",
        reference=job_reference(job_id),
        credits=-charged,
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
    account = await store.lock(session, tenant_id)
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
    await store.append(
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


async def _exhausted(session: AsyncSession, outbox: Outbox, account: Account) -> None:
    # one event per run-out: keyed by how many entries have added credits so far
    credited = await store.credited_entries(session, account.tenant_id)
    event_id = exhausted_event_id(account.tenant_id, credited)
    if await store.published(session, outbox, event_id):
        return
    at = now()
    await outbox.add(
        session,
        CreditsExhausted(
            plan=await store.plan_of(session, account.tenant_id),
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
    if reason not in GRANT_REASONS:
        raise ValueError(f"unknown grant reason {reason!r}")
    account = await store.lock(session, tenant_id)
    at = utc(at)
    expires_at = utc(expires_at) if expires_at is not None else None
    entry = await store.append(
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
            plan=plan or await store.plan_of(session, tenant_id),
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
    account = await store.lock(session, tenant_id)
    lapse = max(0, min(credits, account.available))
    at = utc(at)
    entry = await store.append(
        session,
        account,
        kind="expire",
        reference=expiry_reference(grant_id),
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
            plan=plan or await store.plan_of(session, tenant_id),
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
    account = await store.lock(session, tenant_id)
    if credits < 0 and account.available < -credits:
        raise InsufficientCredits(-credits, account.available)
    at = now()
    entry = await store.append(
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
    plan = await store.plan_of(session, tenant_id)
    if credits > 0:
        await outbox.add(
            session,
            CreditsGranted(
                grant_id=entry,
                credits=credits,
                reason="adjustment",
                plan=plan,
                balance_after=account.available,
                granted_at=at,
                updated_at=at,
            ),
            tenant_id=tenant_id,
        )
    else:
        await outbox.add(
            session,
            CreditsExpired(
                expiry_id=entry,
                credits=-credits,
                reason="adjustment",
                plan=plan,
                balance_after=max(account.available, 0),
                expired_at=at,
                updated_at=at,
            ),
            tenant_id=tenant_id,
        )
    return entry


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
    at = utc(at)
    account = await store.lock(session, tenant_id)
    if await store.grant_recorded(session, reference):
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
            reason=grant_reason(reference),
            plan=plan,
            expires_at=None if rollover else period_end,
            at=at,
        )
    await store.set_next_grant_at(session, account, utc(period_end))


async def _expire_earlier_grants(
    session: AsyncSession, outbox: Outbox, account: Account, *, plan: str, at: datetime
) -> None:
    grants, spent = await store.open_period_grants(session, account.tenant_id)
    # spending comes out of the oldest open grant first
    for grant_id, lapse in lapses(grants, spent):
        await expire(
            session,
            outbox,
            tenant_id=account.tenant_id,
            grant_id=grant_id,
            credits=lapse,
            plan=plan,
            at=at,
        )


# -- the Free plan's sweep -------------------------------------------------------------------


async def grant_due_free_periods(db: Database, outbox: Outbox, now: datetime) -> int:
    """Start the next period of every Free tenant whose `next_grant_at` has come (each in
    its own transaction; on Postgres `SKIP LOCKED` lets replicas share the sweep). A tenant
    away for months gets the current period only. Returns how many periods started."""
    at = utc(now)
    async with db.sessionmaker() as session:
        tenants = await store.due_free_tenants(session, at)
    started = 0
    credits = PLANS["free"].monthly_credits
    for tenant_id in tenants:
        async with db.transaction() as session:
            row = await store.take_due_free_period(
                session, tenant_id, at, skip_locked=db.is_postgres
            )
            if row is None:
                continue  # another replica has it, or it is no longer due or free
            start, end = current_period(utc(row.next_grant_at), at)
            await start_period(
                session,
                outbox,
                tenant_id=tenant_id,
                plan="free",
                credits=credits,
                reference=f"renewal:{row.subscription_id}:{stamp(start)}",
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
