"""Refresh tokens, stored as digests, in families (one per session); a used one never works twice."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import (
    refresh_tokens,
)
from ._common import now, rowcount


async def insert_refresh_token(
    session: AsyncSession,
    *,
    token_hash: str,
    family_id: str,
    user_id: str,
    tenant_id: str | None,
    ttl: int,
) -> None:
    at = now()
    await session.execute(
        refresh_tokens.insert().values(
            token_hash=token_hash,
            family_id=family_id,
            user_id=user_id,
            tenant_id=tenant_id,
            created_at=at,
            expires_at=at + timedelta(seconds=ttl),
        )
    )


async def get_refresh_token(session: AsyncSession, token_hash: str) -> sa.Row | None:
    return (
        await session.execute(
            sa.select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash)
        )
    ).first()


async def use_refresh_token(session: AsyncSession, token_hash: str) -> bool:
    """Mark it used; False when it already was (a concurrent rotation won)."""
    result = await session.execute(
        refresh_tokens.update()
        .where(
            refresh_tokens.c.token_hash == token_hash,
            refresh_tokens.c.used_at.is_(None),
            refresh_tokens.c.revoked_at.is_(None),
        )
        .values(used_at=now())
    )
    return rowcount(result) == 1


async def revoke_refresh_tokens(
    session: AsyncSession,
    *,
    family_id: str | None = None,
    user_id: str | None = None,
    tenant_id: str | None = None,
) -> None:
    """Revoke every token matching all the given filters (a family, a user's, a tenant's)."""
    conditions: list[sa.ColumnElement[bool]] = [refresh_tokens.c.revoked_at.is_(None)]
    if family_id is not None:
        conditions.append(refresh_tokens.c.family_id == family_id)
    if user_id is not None:
        conditions.append(refresh_tokens.c.user_id == user_id)
    if tenant_id is not None:
        conditions.append(refresh_tokens.c.tenant_id == tenant_id)
    if len(conditions) == 1:
        raise ValueError("refusing to revoke every refresh token")
    await session.execute(refresh_tokens.update().where(*conditions).values(revoked_at=now()))
