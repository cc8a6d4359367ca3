"""Render's jobs in the ledger: `reserve` (render.job.queued), `settle`
(render.job.completed), `release` (render.job.failed / cancelled), all with the reference
`job:<job id>`.

A settle or release whose reserve has not arrived yet writes the reserve first, so any
order of delivery gives the same totals; a job ends once (a settle after a release, or the
other way round, is ignored and logged). A settlement that leaves `balance - reserved <= 0`
publishes `billing.credits.exhausted`, once per run-out."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts.events.billing import CreditsExhausted
from pingvas_kit.db import now
from pingvas_kit.logging import get_logger
from pingvas_kit.outbox import Outbox
from pingvas_kit.service import after_commit

from ...adapters import ledger as store
from ...adapters.ledger import Account
from ...domain.ledger import (
    InsufficientCredits,
    charge,
    exhausted_event_id,
    job_reference,
    other_end,
)

log = get_logger("pingvas.billing.ledger")

# counted once the entry is committed (a rolled-back, retried delivery counts once); no
# labels: nothing that could name a tenant. Held = reserved - settled - released.
RESERVED = Counter("pingvas_billing_credits_reserved_total", "Credits held by job reservations")
SETTLED = Counter(
    "pingvas_billing_credits_settled_total", "Reserved credits whose job settled (completed)"
)
RELEASED = Counter(
    "pingvas_billing_credits_released_total",
    "Reserved credits handed back uncharged (job failed or cancelled)",
)
CHARGED = Counter("pingvas_billing_credits_charged_total", "Credits charged for completed jobs")


def _count(session: AsyncSession, counter: Counter, amount: int) -> None:
    if amount > 0:
        after_commit(session, partial(counter.inc, amount))


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
    if entry is not None:
        _count(session, RESERVED, credits)
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
    _count(session, RESERVED, held)
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
    _count(session, SETTLED, held)
    _count(session, CHARGED, charged)
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
    _count(session, RELEASED, held)
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
