"""Who belongs to which team, with which role; always by `tenant_id`."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import (
    memberships,
    tenants,
    users,
)
from ._common import now


async def add_membership(session: AsyncSession, *, tenant_id: str, user_id: str, role: str) -> None:
    await session.execute(
        memberships.insert().values(
            tenant_id=tenant_id, user_id=user_id, role=role, created_at=now()
        )
    )


async def get_membership(session: AsyncSession, *, tenant_id: str, user_id: str) -> sa.Row | None:
    """The membership with its tenant's name, if the tenant is active."""
    return (
        await session.execute(
            sa.select(memberships, tenants.c.name.label("tenant_name"), tenants.c.slug)
            .join(tenants, tenants.c.id == memberships.c.tenant_id)
            .where(
                memberships.c.tenant_id == tenant_id,
                memberships.c.user_id == user_id,
                tenants.c.deleted_at.is_(None),
            )
        )
    ).first()


async def memberships_of_user(session: AsyncSession, *, user_id: str) -> list[sa.Row]:
    """The user's memberships of active tenants, oldest first (the first is the default)."""
    return list(
        (
            await session.execute(
                sa.select(memberships, tenants.c.name.label("tenant_name"), tenants.c.slug)
                .join(tenants, tenants.c.id == memberships.c.tenant_id)
                .where(memberships.c.user_id == user_id, tenants.c.deleted_at.is_(None))
                .order_by(memberships.c.created_at, memberships.c.tenant_id)
            )
        ).all()
    )


async def members_of_tenant(session: AsyncSession, *, tenant_id: str) -> list[sa.Row]:
    return list(
        (
            await session.execute(
                sa.select(
                    memberships.c.user_id,
                    memberships.c.role,
                    memberships.c.created_at,
                    users.c.email,
                    users.c.name,
                    users.c.email_verified_at,
                )
                .join(users, users.c.id == memberships.c.user_id)
                .where(memberships.c.tenant_id == tenant_id)
                .order_by(memberships.c.created_at, users.c.email)
            )
        ).all()
    )


async def count_owners(session: AsyncSession, *, tenant_id: str) -> int:
    return (
        await session.scalar(
            sa.select(sa.func.count())
            .select_from(memberships)
            .where(memberships.c.tenant_id == tenant_id, memberships.c.role == "owner")
        )
        or 0
    )


async def set_role(session: AsyncSession, *, tenant_id: str, user_id: str, role: str) -> None:
    await session.execute(
        memberships.update()
        .where(memberships.c.tenant_id == tenant_id, memberships.c.user_id == user_id)
        .values(role=role)
    )


async def remove_membership(session: AsyncSession, *, tenant_id: str, user_id: str) -> None:
    await session.execute(
        memberships.delete().where(
            memberships.c.tenant_id == tenant_id, memberships.c.user_id == user_id
        )
    )
