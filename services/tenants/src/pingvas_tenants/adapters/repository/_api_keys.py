"""API keys, stored as digests; always by `tenant_id`, but for the gateway's look-up by digest."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import (
    api_keys,
    tenants,
    users,
)
from ._common import rowcount


async def insert_api_key(session: AsyncSession, **values: Any) -> None:
    await session.execute(api_keys.insert().values(**values))


async def api_keys_of_tenant(session: AsyncSession, *, tenant_id: str) -> list[sa.Row]:
    return list(
        (
            await session.execute(
                sa.select(api_keys)
                .where(api_keys.c.tenant_id == tenant_id)
                .order_by(api_keys.c.created_at.desc(), api_keys.c.id)
            )
        ).all()
    )


async def get_api_key(session: AsyncSession, *, tenant_id: str, api_key_id: str) -> sa.Row | None:
    return (
        await session.execute(
            sa.select(api_keys).where(
                api_keys.c.tenant_id == tenant_id, api_keys.c.id == api_key_id
            )
        )
    ).first()


async def live_api_keys(
    session: AsyncSession, *, tenant_id: str, created_by: str | None = None
) -> list[sa.Row]:
    conditions = [api_keys.c.tenant_id == tenant_id, api_keys.c.revoked_at.is_(None)]
    if created_by is not None:
        conditions.append(api_keys.c.created_by == created_by)
    return list((await session.execute(sa.select(api_keys).where(*conditions))).all())


async def revoke_api_key(
    session: AsyncSession, *, tenant_id: str, api_key_id: str, at: datetime
) -> bool:
    result = await session.execute(
        api_keys.update()
        .where(
            api_keys.c.tenant_id == tenant_id,
            api_keys.c.id == api_key_id,
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=at)
    )
    return rowcount(result) == 1


async def find_live_api_key(session: AsyncSession, key_hash: str) -> sa.Row | None:
    """A key that is not revoked, of an active tenant; with `creator_verified_at`, when the
    person who made it verified their address (None: not verified, or no such person)."""
    return (
        await session.execute(
            sa.select(api_keys, users.c.email_verified_at.label("creator_verified_at"))
            .join(tenants, tenants.c.id == api_keys.c.tenant_id)
            .outerjoin(users, users.c.id == api_keys.c.created_by)
            .where(
                api_keys.c.key_hash == key_hash,
                api_keys.c.revoked_at.is_(None),
                tenants.c.deleted_at.is_(None),
            )
        )
    ).first()


async def touch_api_key(
    session: AsyncSession, *, api_key_id: str, at: datetime, every: timedelta
) -> None:
    """Record use, at most once per `every` (a conditional update: no write most times)."""
    await session.execute(
        api_keys.update()
        .where(
            api_keys.c.id == api_key_id,
            sa.or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at <= at - every),
        )
        .values(last_used_at=at)
    )
