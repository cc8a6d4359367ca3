"""Webhook endpoints, the team's callback secret, deliveries and attempts; always by
`tenant_id`, except the sender's claim of due deliveries (every tenant's, by time)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import (
    webhook_attempts,
    webhook_callback_secrets,
    webhook_deliveries,
    webhook_endpoints,
)
from ._common import rowcount


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def insert_endpoint(session: AsyncSession, **values: Any) -> None:
    await session.execute(webhook_endpoints.insert().values(**values))


async def endpoints_of_tenant(session: AsyncSession, *, tenant_id: str) -> list[sa.Row]:
    return list(
        (
            await session.execute(
                sa.select(webhook_endpoints)
                .where(webhook_endpoints.c.tenant_id == tenant_id)
                .order_by(webhook_endpoints.c.created_at, webhook_endpoints.c.id)
            )
        ).all()
    )


async def get_endpoint(
    session: AsyncSession, *, tenant_id: str, endpoint_id: str, for_update: bool = False
) -> sa.Row | None:
    query = sa.select(webhook_endpoints).where(
        webhook_endpoints.c.tenant_id == tenant_id, webhook_endpoints.c.id == endpoint_id
    )
    if for_update and _is_postgres(session):
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def update_endpoint(
    session: AsyncSession, *, tenant_id: str, endpoint_id: str, **values: Any
) -> int:
    return rowcount(
        await session.execute(
            webhook_endpoints.update()
            .where(
                webhook_endpoints.c.tenant_id == tenant_id,
                webhook_endpoints.c.id == endpoint_id,
            )
            .values(**values)
        )
    )


async def delete_endpoint(session: AsyncSession, *, tenant_id: str, endpoint_id: str) -> int:
    """The endpoint, its deliveries and their attempts."""
    ids = sa.select(webhook_deliveries.c.id).where(
        webhook_deliveries.c.tenant_id == tenant_id,
        webhook_deliveries.c.endpoint_id == endpoint_id,
    )
    await session.execute(
        webhook_attempts.delete().where(
            webhook_attempts.c.tenant_id == tenant_id, webhook_attempts.c.delivery_id.in_(ids)
        )
    )
    await session.execute(
        webhook_deliveries.delete().where(
            webhook_deliveries.c.tenant_id == tenant_id,
            webhook_deliveries.c.endpoint_id == endpoint_id,
        )
    )
    return rowcount(
        await session.execute(
            webhook_endpoints.delete().where(
                webhook_endpoints.c.tenant_id == tenant_id,
                webhook_endpoints.c.id == endpoint_id,
            )
        )
    )


async def subscribed_endpoints(
    session: AsyncSession, *, tenant_id: str, event_type: str
) -> list[sa.Row]:
    """The tenant's enabled endpoints that want `event_type`."""
    rows = (
        await session.execute(
            sa.select(webhook_endpoints).where(
                webhook_endpoints.c.tenant_id == tenant_id,
                webhook_endpoints.c.enabled.is_(True),
            )
        )
    ).all()
    return [row for row in rows if event_type in (row.event_types or ())]


async def get_callback_secret(session: AsyncSession, *, tenant_id: str) -> sa.Row | None:
    return (
        await session.execute(
            sa.select(webhook_callback_secrets).where(
                webhook_callback_secrets.c.tenant_id == tenant_id
            )
        )
    ).first()


async def insert_callback_secret(session: AsyncSession, **values: Any) -> None:
    insert = pg_insert if _is_postgres(session) else sqlite_insert
    await session.execute(
        insert(webhook_callback_secrets)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["tenant_id"])
    )


async def update_callback_secret(session: AsyncSession, *, tenant_id: str, **values: Any) -> None:
    await session.execute(
        webhook_callback_secrets.update()
        .where(webhook_callback_secrets.c.tenant_id == tenant_id)
        .values(**values)
    )


async def insert_delivery(session: AsyncSession, **values: Any) -> bool:
    """False when this message exists already (the same event for the same endpoint)."""
    insert = pg_insert if _is_postgres(session) else sqlite_insert
    result = await session.execute(
        insert(webhook_deliveries).values(**values).on_conflict_do_nothing(index_elements=["id"])
    )
    return rowcount(result) > 0


async def deliveries_of_endpoint(
    session: AsyncSession,
    *,
    tenant_id: str,
    endpoint_id: str,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[sa.Row]:
    """Newest first, `limit` of them after the cursor (created_at, id)."""
    d = webhook_deliveries.c
    query = sa.select(webhook_deliveries).where(
        d.tenant_id == tenant_id, d.endpoint_id == endpoint_id
    )
    if before is not None:
        at, last_id = before
        query = query.where(sa.or_(d.created_at < at, sa.and_(d.created_at == at, d.id < last_id)))
    query = query.order_by(d.created_at.desc(), d.id.desc()).limit(limit)
    return list((await session.execute(query)).all())


async def get_delivery(session: AsyncSession, *, tenant_id: str, delivery_id: str) -> sa.Row | None:
    return (
        await session.execute(
            sa.select(webhook_deliveries).where(
                webhook_deliveries.c.tenant_id == tenant_id,
                webhook_deliveries.c.id == delivery_id,
            )
        )
    ).first()


async def attempts_of(session: AsyncSession, *, tenant_id: str, delivery_id: str) -> list[sa.Row]:
    return list(
        (
            await session.execute(
                sa.select(webhook_attempts)
                .where(
                    webhook_attempts.c.tenant_id == tenant_id,
                    webhook_attempts.c.delivery_id == delivery_id,
                )
                .order_by(webhook_attempts.c.number, webhook_attempts.c.id)
            )
        ).all()
    )


async def requeue_delivery(
    session: AsyncSession, *, tenant_id: str, delivery_id: str, at: datetime
) -> int:
    return rowcount(
        await session.execute(
            webhook_deliveries.update()
            .where(
                webhook_deliveries.c.tenant_id == tenant_id,
                webhook_deliveries.c.id == delivery_id,
            )
            .values(status="pending", next_attempt_at=at, locked_until=None)
        )
    )


async def claim_due(
    session: AsyncSession, *, at: datetime, limit: int, lease: timedelta
) -> list[sa.Row]:
    """Pending deliveries due by `at` that no sender holds, now held by this one for
    `lease` (a sender that dies lets them go when it ends)."""
    d = webhook_deliveries.c
    query = (
        sa.select(d.id)
        .where(
            d.status == "pending",
            d.next_attempt_at <= at,
            sa.or_(d.locked_until.is_(None), d.locked_until < at),
        )
        .order_by(d.next_attempt_at)
        .limit(limit)
    )
    if _is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    ids = list((await session.execute(query)).scalars())
    if not ids:
        return []
    await session.execute(
        webhook_deliveries.update().where(d.id.in_(ids)).values(locked_until=at + lease)
    )
    return list((await session.execute(sa.select(webhook_deliveries).where(d.id.in_(ids)))).all())


async def get_delivery_any(session: AsyncSession, *, delivery_id: str) -> sa.Row | None:
    """For the sender, which works across tenants."""
    return (
        await session.execute(
            sa.select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
        )
    ).first()


async def update_delivery(session: AsyncSession, *, delivery_id: str, **values: Any) -> None:
    await session.execute(
        webhook_deliveries.update().where(webhook_deliveries.c.id == delivery_id).values(**values)
    )


async def insert_attempt(session: AsyncSession, **values: Any) -> None:
    await session.execute(webhook_attempts.insert().values(**values))


async def delivery_stats(
    session: AsyncSession, *, tenant_id: str, since: datetime
) -> dict[str, tuple[int, int, int]]:
    """Per endpoint since `since`: (deliveries made, attempts, attempts answered 2xx)."""
    d, a = webhook_deliveries.c, webhook_attempts.c
    made = (
        await session.execute(
            sa.select(d.endpoint_id, sa.func.count())
            .where(d.tenant_id == tenant_id, d.endpoint_id.is_not(None), d.created_at >= since)
            .group_by(d.endpoint_id)
        )
    ).all()
    ok = sa.func.sum(sa.case((a.status_code.between(200, 299), 1), else_=0))
    tried = (
        await session.execute(
            sa.select(d.endpoint_id, sa.func.count(), ok)
            .select_from(webhook_attempts.join(webhook_deliveries, a.delivery_id == d.id))
            .where(a.tenant_id == tenant_id, d.endpoint_id.is_not(None), a.attempted_at >= since)
            .group_by(d.endpoint_id)
        )
    ).all()
    stats = {row[0]: (int(row[1]), 0, 0) for row in made}
    for row in tried:
        stats[row[0]] = (stats.get(row[0], (0, 0, 0))[0], int(row[1]), int(row[2] or 0))
    return stats


async def get_endpoint_any(session: AsyncSession, *, endpoint_id: str) -> sa.Row | None:
    """For the sender, which works across tenants."""
    return (
        await session.execute(
            sa.select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)
        )
    ).first()


async def prune_deliveries(session: AsyncSession, *, before: datetime) -> int:
    """Finished deliveries (delivered or given up) made before `before`, with their
    attempts; pending ones stay whatever their age."""
    d = webhook_deliveries.c
    old = sa.select(d.id).where(d.created_at < before, d.status != "pending")
    await session.execute(webhook_attempts.delete().where(webhook_attempts.c.delivery_id.in_(old)))
    return rowcount(
        await session.execute(
            webhook_deliveries.delete().where(d.created_at < before, d.status != "pending")
        )
    )
