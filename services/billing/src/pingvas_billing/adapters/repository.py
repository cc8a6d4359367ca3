"""Queries over the billing schema. Whatever reads or writes a tenant's rows on behalf of
a caller takes `tenant_id` as a keyword, from the verified identity or the event."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_kit.db import aware, new_id, now  # noqa: F401 - callers use repo.now() and co.

from .db import balances, customers, ledger, payments, subscriptions, webhook_events

TENANT_TABLES = (customers, subscriptions, webhook_events, ledger, balances, payments)


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_of(session: AsyncSession, table: sa.Table) -> Any:
    """The dialect's INSERT, so that `.on_conflict_do_nothing()` is at hand."""
    return (pg_insert if is_postgres(session) else sqlite_insert)(table)


def state_of(row: Any) -> dict[str, Any]:
    """A subscriptions row as a dict, its times aware (SQLite hands back naive UTC)."""
    return {k: aware(v) if isinstance(v, datetime) else v for k, v in row._mapping.items()}


# -- webhook events --------------------------------------------------------------------------


async def record_webhook(session: AsyncSession, **values: Any) -> bool:
    """Insert a delivery; False when the same body was recorded before."""
    result = await session.execute(
        insert_of(session, webhook_events)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["body_sha256"])
    )
    return result.rowcount == 1  # type: ignore[attr-defined]  # an INSERT's result is a CursorResult


async def next_webhook(
    session: AsyncSession,
    *,
    at: datetime,
    max_attempts: int,
    backoff: Callable[[int], timedelta],
) -> sa.Row | None:
    """The oldest event to process now, locked (Postgres: FOR UPDATE SKIP LOCKED, so
    replicas take different events): never processed, or failed earlier and due again."""
    w = webhook_events.c
    fresh = sa.select(webhook_events).where(w.processed_at.is_(None)).order_by(w.id).limit(1)
    retry = (
        sa.select(webhook_events)
        .where(w.outcome == "failed", w.attempts < max_attempts)
        .order_by(w.processed_at, w.id)
        .limit(20)
    )
    if is_postgres(session):
        fresh = fresh.with_for_update(skip_locked=True)
        retry = retry.with_for_update(skip_locked=True)
    row = (await session.execute(fresh)).first()
    if row is not None:
        return row
    for row in (await session.execute(retry)).all():
        tried = aware(row.processed_at)
        if tried is not None and tried + backoff(row.attempts) <= at:
            return row
    return None


async def lock_webhook(session: AsyncSession, event_id: int) -> sa.Row | None:
    query = sa.select(webhook_events).where(webhook_events.c.id == event_id)
    if is_postgres(session):
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def mark_webhook(session: AsyncSession, event_id: int, **values: Any) -> None:
    await session.execute(
        webhook_events.update().where(webhook_events.c.id == event_id).values(**values)
    )


# -- subscriptions ---------------------------------------------------------------------------


async def get_subscription(
    session: AsyncSession, *, tenant_id: str, for_update: bool = False
) -> sa.Row | None:
    query = sa.select(subscriptions).where(subscriptions.c.tenant_id == tenant_id)
    if for_update and is_postgres(session):
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def subscription_by_ls_id(session: AsyncSession, ls_subscription_id: str) -> sa.Row | None:
    return (
        await session.execute(
            sa.select(subscriptions).where(subscriptions.c.ls_subscription_id == ls_subscription_id)
        )
    ).first()


async def insert_subscription(session: AsyncSession, **values: Any) -> None:
    await session.execute(subscriptions.insert().values(**values))


async def update_subscription(session: AsyncSession, *, tenant_id: str, **values: Any) -> None:
    await session.execute(
        subscriptions.update().where(subscriptions.c.tenant_id == tenant_id).values(**values)
    )


async def delinquent_past(session: AsyncSession, cutoff: datetime) -> Sequence[sa.Row]:
    """Subscriptions past due (or unpaid) since before `cutoff` whose entitlements are
    still the plan's."""
    s = subscriptions.c
    query = (
        sa.select(subscriptions)
        .where(
            s.status.in_(("past_due", "unpaid")),
            s.entitlements_reduced.is_(False),
            s.past_due_since <= cutoff,
        )
        .order_by(s.past_due_since)
        .limit(100)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    return (await session.execute(query)).all()


# -- customers -------------------------------------------------------------------------------


async def save_customer(
    session: AsyncSession, *, tenant_id: str, email: str | None, ls_customer_id: str | None
) -> None:
    """Create or update the tenant's customer row. A Lemon Squeezy customer is one per
    email and store, so one person owning two teams is one LS customer: the id is kept on
    the first tenant only (the column is unique)."""
    if ls_customer_id is not None:
        holder = await session.scalar(
            sa.select(customers.c.tenant_id).where(customers.c.ls_customer_id == ls_customer_id)
        )
        if holder is not None and holder != tenant_id:
            ls_customer_id = None
    at = now()
    row = (
        await session.execute(sa.select(customers).where(customers.c.tenant_id == tenant_id))
    ).first()
    if row is None:
        await session.execute(
            customers.insert().values(
                tenant_id=tenant_id,
                email=email,
                ls_customer_id=ls_customer_id,
                created_at=at,
                updated_at=at,
            )
        )
        return
    values: dict[str, Any] = {"updated_at": at}
    if email:
        values["email"] = email
    if ls_customer_id and not row.ls_customer_id:
        values["ls_customer_id"] = ls_customer_id
    await session.execute(
        customers.update().where(customers.c.tenant_id == tenant_id).values(**values)
    )


# -- payments --------------------------------------------------------------------------------


async def get_payment(session: AsyncSession, reference: str) -> sa.Row | None:
    return (
        await session.execute(sa.select(payments).where(payments.c.reference == reference))
    ).first()


async def save_payment(session: AsyncSession, *, reference: str, **values: Any) -> str:
    """Insert or update the payment with this reference; its id."""
    row = await get_payment(session, reference)
    at = now()
    if row is None:
        payment_id = new_id()
        await session.execute(
            payments.insert().values(
                id=payment_id, reference=reference, created_at=at, updated_at=at, **values
            )
        )
        return payment_id
    await session.execute(
        payments.update().where(payments.c.id == row.id).values(updated_at=at, **values)
    )
    return row.id


async def list_payments(session: AsyncSession, *, tenant_id: str, limit: int) -> Sequence[sa.Row]:
    return (
        await session.execute(
            sa.select(payments)
            .where(payments.c.tenant_id == tenant_id)
            .order_by(payments.c.created_at.desc(), payments.c.id)
            .limit(limit)
        )
    ).all()


async def count_failed_attempts(session: AsyncSession, *, tenant_id: str, since: datetime) -> int:
    """Payment failures applied for the tenant since `since` (a payment's first failure)."""
    w = webhook_events.c
    count = await session.scalar(
        sa.select(sa.func.count())
        .select_from(webhook_events)
        .where(
            w.tenant_id == tenant_id,
            w.event_name == "subscription_payment_failed",
            w.outcome == "applied",
            w.received_at >= since,
        )
    )
    return count or 0


# -- tenants ---------------------------------------------------------------------------------


async def purge_tenant(session: AsyncSession, *, tenant_id: str) -> dict[str, int]:
    """Delete every row billing holds for the tenant; how many per table."""
    removed = {}
    for table in TENANT_TABLES:
        result = await session.execute(table.delete().where(table.c.tenant_id == tenant_id))
        removed[table.name] = result.rowcount  # type: ignore[attr-defined]  # a DELETE's result is a CursorResult
    return removed
