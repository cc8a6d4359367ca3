"""User accounts: look-ups by id and address, updates, the token version the gateway checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import (
    memberships,
    tenants,
    users,
)
from ._common import inserted, new_id, now


async def get_user(session: AsyncSession, *, user_id: str) -> sa.Row | None:
    return (await session.execute(sa.select(users).where(users.c.id == user_id))).first()


async def find_user_by_email(session: AsyncSession, email: str) -> sa.Row | None:
    return (await session.execute(sa.select(users).where(users.c.email == email.lower()))).first()


async def insert_user(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    locale: str,
    password_hash: str,
    verified: bool = False,
) -> sa.Row:
    at = now()
    user_id = new_id()
    row = {
        "id": user_id,
        "email": email.lower(),
        "name": name,
        "locale": locale,
        "password_hash": password_hash,
        "email_verified_at": at if verified else None,
        "created_at": at,
    }
    await session.execute(users.insert().values(**row))
    return inserted(await get_user(session, user_id=user_id))


async def update_user(session: AsyncSession, *, user_id: str, **values: Any) -> None:
    await session.execute(users.update().where(users.c.id == user_id).values(**values))


async def raise_token_version(session: AsyncSession, *, user_id: str) -> None:
    """Every access token of the person issued before now stops working (the gateway
    compares their `uver` with this)."""
    await session.execute(
        users.update().where(users.c.id == user_id).values(token_version=users.c.token_version + 1)
    )


async def session_state(
    session: AsyncSession, *, user_id: str, tenant_id: str | None
) -> tuple[int | None, datetime | None]:
    """(the person's token version, None for no such person; since when they are a member
    of `tenant_id`, None when they are not, or the tenant is deleted, or no tenant)."""
    version = await session.scalar(sa.select(users.c.token_version).where(users.c.id == user_id))
    since = None
    if version is not None and tenant_id is not None:
        since = await session.scalar(
            sa.select(memberships.c.created_at)
            .join(tenants, tenants.c.id == memberships.c.tenant_id)
            .where(
                memberships.c.tenant_id == tenant_id,
                memberships.c.user_id == user_id,
                tenants.c.deleted_at.is_(None),
            )
        )
    return version, since


async def users_with_platform_role(session: AsyncSession, *, role: str) -> list[sa.Row]:
    """The platform's staff with `role`, by address (no tenant: platform roles span them)."""
    query = sa.select(users).where(users.c.platform_role == role).order_by(users.c.email)
    return list((await session.execute(query)).all())
