"""Tenants (teams): their slugs, reading one, marking one deleted."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import (
    tenants,
)
from ._common import inserted, new_id, now, rowcount


async def slug_taken(session: AsyncSession, slug: str) -> bool:
    return (await session.scalar(sa.select(tenants.c.id).where(tenants.c.slug == slug))) is not None


async def insert_tenant(session: AsyncSession, *, name: str, slug: str, locale: str) -> sa.Row:
    tenant_id = new_id()
    row = {
        "id": tenant_id,
        "name": name,
        "slug": slug,
        "locale": locale,
        "plan": "free",
        "created_at": now(),
    }
    await session.execute(tenants.insert().values(**row))
    return inserted(await get_tenant(session, tenant_id=tenant_id))


async def get_tenant(session: AsyncSession, *, tenant_id: str) -> sa.Row | None:
    """An active (not deleted) tenant."""
    return (
        await session.execute(
            sa.select(tenants).where(tenants.c.id == tenant_id, tenants.c.deleted_at.is_(None))
        )
    ).first()


async def mark_tenant_deleted(session: AsyncSession, *, tenant_id: str, at: datetime) -> None:
    await session.execute(tenants.update().where(tenants.c.id == tenant_id).values(deleted_at=at))


async def set_plan(session: AsyncSession, *, tenant_id: str, plan: str, at: datetime) -> bool:
    """The plan billing reported at `at`, unless a later report is shown already."""
    result = await session.execute(
        tenants.update()
        .where(
            tenants.c.id == tenant_id,
            sa.or_(tenants.c.plan_updated_at.is_(None), tenants.c.plan_updated_at <= at),
        )
        .values(plan=plan, plan_updated_at=at)
    )
    return rowcount(result) > 0


async def set_member_image_deletion(session: AsyncSession, *, tenant_id: str, value: str) -> None:
    await session.execute(
        tenants.update().where(tenants.c.id == tenant_id).values(member_image_deletion=value)
    )
