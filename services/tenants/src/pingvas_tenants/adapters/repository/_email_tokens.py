"""Single-use mailed link tokens (verification, reset), stored as digests."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import (
    email_tokens,
)
from ._common import aware, now, rowcount


async def insert_email_token(
    session: AsyncSession, *, token_hash: str, user_id: str, purpose: str, expires_at: datetime
) -> None:
    await session.execute(
        email_tokens.insert().values(
            token_hash=token_hash,
            user_id=user_id,
            purpose=purpose,
            created_at=now(),
            expires_at=expires_at,
        )
    )


async def consume_email_token(
    session: AsyncSession, *, token_hash: str, purpose: str
) -> str | None:
    """Use a live token once; returns its user id, or None when unknown, used or expired."""
    at = now()
    row = (
        await session.execute(
            sa.select(email_tokens.c.user_id).where(
                email_tokens.c.token_hash == token_hash,
                email_tokens.c.purpose == purpose,
                email_tokens.c.used_at.is_(None),
                email_tokens.c.expires_at > at,
            )
        )
    ).first()
    if row is None:
        return None
    result = await session.execute(
        email_tokens.update()
        .where(email_tokens.c.token_hash == token_hash, email_tokens.c.used_at.is_(None))
        .values(used_at=at)
    )
    return row.user_id if rowcount(result) == 1 else None


async def email_token_times(
    session: AsyncSession, *, user_id: str, purpose: str, since: datetime
) -> list[datetime]:
    """When the links of `purpose` issued to the user since `since` were made, oldest first."""
    rows = await session.execute(
        sa.select(email_tokens.c.created_at)
        .where(
            email_tokens.c.user_id == user_id,
            email_tokens.c.purpose == purpose,
            email_tokens.c.created_at >= since,
        )
        .order_by(email_tokens.c.created_at)
    )
    return [aware(r) for r in rows.scalars() if r is not None]


async def expire_email_tokens(session: AsyncSession, *, user_id: str, purpose: str) -> None:
    """A new link supersedes the older ones."""
    await session.execute(
        email_tokens.update()
        .where(
            email_tokens.c.user_id == user_id,
            email_tokens.c.purpose == purpose,
            email_tokens.c.used_at.is_(None),
        )
        .values(used_at=now())
    )
