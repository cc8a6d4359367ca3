"""Credits in and out of the ledger other than jobs: grants, expiries, an operator's
adjustments, a new period (`start_period`) and the Free plan's sweep.

`start_period` expires the unused credits of the earlier period grants (plans with
`rollover = false`) and grants the new period's credits; a grant's unused credits are what
it gave minus what was settled since it was made, never more than the available
balance."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts.events.billing import CreditsExpired, CreditsGranted
from pingvas_contracts.plans import PLANS
from pingvas_kit.db import Database, new_id, now
from pingvas_kit.logging import get_logger
from pingvas_kit.outbox import Outbox

from ...adapters import ledger as store
from ...adapters.ledger import Account, utc
from ...domain.ledger import (
    GRANT_REASONS,
    InsufficientCredits,
    current_period,
    expiry_reference,
    grant_reason,
    lapses,
)
from ...domain.periods import stamp

log = get_logger("pingvas.billing.ledger")


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
