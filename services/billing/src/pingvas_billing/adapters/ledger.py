"""The credit ledger's queries: the tenant's `balances` row, taken and kept in step with the
`ledger` entries appended in the same transaction.

`lock` first takes the tenant's `balances` row (`SELECT .. FOR UPDATE` on Postgres; SQLite
has one writer at a time), then `append` writes with `INSERT .. ON CONFLICT DO NOTHING`: a
fact seen twice is one entry, and the totals move only when an entry was written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts.plans import PLANS
from pingvas_kit.db import aware, new_id, now
from pingvas_kit.outbox import Outbox

from ..domain.ledger import JOB_KINDS, OpenGrant, Totals, expiry_reference
from .db import balances, ledger, subscriptions
from .repository import insert_of, is_postgres


@dataclass
class Account:
    """The tenant's locked `balances` row, kept in step with the entries appended."""

    tenant_id: str
    balance: int
    reserved: int
    next_grant_at: datetime | None

    @property
    def available(self) -> int:
        return self.balance - self.reserved


def utc(value: datetime | None) -> datetime:
    """`value` as aware UTC (SQLite hands back naive UTC); now when None."""
    if value is None:
        return now()
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).astimezone(UTC)


async def lock(session: AsyncSession, tenant_id: str) -> Account:
    """The tenant's balances row, created at zero if missing, locked for this transaction."""
    query = sa.select(balances.c.balance, balances.c.reserved, balances.c.next_grant_at).where(
        balances.c.tenant_id == tenant_id
    )
    if is_postgres(session):
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        await session.execute(
            insert_of(session, balances)
            .values(tenant_id=tenant_id, balance=0, reserved=0, updated_at=now())
            .on_conflict_do_nothing(index_elements=["tenant_id"])
        )
        row = (await session.execute(query)).one()
    return Account(tenant_id, row.balance, row.reserved, aware(row.next_grant_at))


async def append(
    session: AsyncSession,
    account: Account,
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
        insert_of(session, ledger)
        .values(
            id=entry_id,
            tenant_id=account.tenant_id,
            kind=kind,
            credits=credits,
            reserved=reserved,
            reference=reference,
            created_at=utc(at),
            **columns,
        )
        .on_conflict_do_nothing(index_elements=["kind", "reference"])
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]  # an INSERT's result is a CursorResult
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


async def job_entries(session: AsyncSession, reference: str) -> dict[str, int]:
    """{kind: reserved moved} of the job's reserve, settle and release entries."""
    rows = await session.execute(
        sa.select(ledger.c.kind, ledger.c.reserved).where(
            ledger.c.reference == reference, ledger.c.kind.in_(JOB_KINDS)
        )
    )
    return {kind: moved for kind, moved in rows}


async def plan_of(session: AsyncSession, tenant_id: str) -> str:
    plan = await session.scalar(
        sa.select(subscriptions.c.plan).where(subscriptions.c.tenant_id == tenant_id)
    )
    return plan if isinstance(plan, str) and plan in PLANS else "free"


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


async def credited_entries(session: AsyncSession, tenant_id: str) -> int:
    """How many entries have added credits to the tenant."""
    count = await session.scalar(
        sa.select(sa.func.count()).where(ledger.c.tenant_id == tenant_id, ledger.c.credits > 0)
    )
    return count or 0


async def published(session: AsyncSession, outbox: Outbox, event_id: str) -> bool:
    """Whether the outbox holds an event with this id already."""
    table = outbox.table
    return bool(
        await session.scalar(sa.select(table.c.position).where(table.c.event_id == event_id))
    )


async def grant_recorded(session: AsyncSession, reference: str) -> bool:
    found = await session.scalar(
        sa.select(ledger.c.id).where(ledger.c.kind == "grant", ledger.c.reference == reference)
    )
    return found is not None


async def set_next_grant_at(session: AsyncSession, account: Account, when: datetime) -> None:
    await session.execute(
        balances.update()
        .where(balances.c.tenant_id == account.tenant_id)
        .values(next_grant_at=when, updated_at=now())
    )
    account.next_grant_at = when


async def open_period_grants(session: AsyncSession, tenant_id: str) -> tuple[list[OpenGrant], int]:
    """The tenant's period grants (those that expire) not expired yet, oldest first, and the
    credits settled since the oldest of them was made."""
    l = ledger.c  # noqa: E741
    grants = (
        await session.execute(
            sa.select(l.id, l.credits, l.created_at)
            .where(l.tenant_id == tenant_id, l.kind == "grant", l.expires_at.is_not(None))
            .order_by(l.created_at, l.id)
        )
    ).all()
    if not grants:
        return [], 0
    expired = set(
        await session.scalars(
            sa.select(l.reference).where(l.tenant_id == tenant_id, l.kind == "expire")
        )
    )
    open_grants = [g for g in grants if expiry_reference(g.id) not in expired]
    if not open_grants:
        return [], 0
    settled = await session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(l.credits), 0)).where(
            l.tenant_id == tenant_id,
            l.kind == "settle",
            l.created_at >= open_grants[0].created_at,
        )
    )
    return [OpenGrant(g.id, g.credits) for g in open_grants], -(settled or 0)


def due_free_periods(at: datetime) -> sa.Select[Any]:
    """Free tenants whose `next_grant_at` has come: tenant_id, next_grant_at and
    subscription_id."""
    s, b = subscriptions.c, balances.c
    return (
        sa.select(b.tenant_id, b.next_grant_at, s.id.label("subscription_id"))
        .join(subscriptions, s.tenant_id == b.tenant_id)
        .where(s.plan == "free", b.next_grant_at.is_not(None), b.next_grant_at <= at)
    )


async def due_free_tenants(session: AsyncSession, at: datetime) -> list[str]:
    query = due_free_periods(at).order_by(balances.c.next_grant_at)
    return [row.tenant_id for row in await session.execute(query)]


async def take_due_free_period(
    session: AsyncSession, tenant_id: str, at: datetime, *, skip_locked: bool
) -> Any | None:
    """The tenant's due row, locked (`SKIP LOCKED` on Postgres, so replicas share the
    sweep); None when another replica has it, or it is no longer due or Free."""
    query = due_free_periods(at).where(balances.c.tenant_id == tenant_id)
    if skip_locked:
        query = query.with_for_update(of=balances, skip_locked=True)
    return (await session.execute(query)).first()


async def plan_and_status(session: AsyncSession, tenant_id: str) -> Any | None:
    """The tenant's subscription `plan` and `status`; None without one."""
    s = subscriptions.c
    query = sa.select(s.plan, s.status).where(s.tenant_id == tenant_id)
    return (await session.execute(query)).first()


def _day_key(session: AsyncSession, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    if is_postgres(session):
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM-DD")
    return sa.func.strftime("%Y-%m-%d", column)  # SQLite keeps UTC times as text


async def usage(
    session: AsyncSession, tenant_id: str, start: datetime, stop: datetime, group_by: str
) -> list[tuple[str | None, int, int]]:
    """(key, credits charged, jobs) of the settlements in [start, stop), by UTC day
    (`YYYY-MM-DD`), user or API key."""
    l = ledger.c  # noqa: E741
    if group_by == "day":
        key = _day_key(session, l.created_at)
    else:
        key = l.user_id if group_by == "user" else l.api_key_id
    key = key.label("key")
    credits = (-sa.func.sum(l.credits)).label("credits")
    query = (
        sa.select(key, credits, sa.func.count().label("jobs"))
        .where(
            l.tenant_id == tenant_id,
            l.kind == "settle",
            l.created_at >= start,
            l.created_at < stop,
        )
        .group_by(key)
    )
    rows = (await session.execute(query)).all()
    return [(r.key, int(r.credits or 0), r.jobs) for r in rows]
