"""Invitations by email, stored with the digest of their link token; always by `tenant_id`."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import (
    invitations,
    tenants,
)
from ._common import now, rowcount


async def insert_invitation(session: AsyncSession, **values: Any) -> None:
    await session.execute(invitations.insert().values(**values))


async def invitations_of_tenant(session: AsyncSession, *, tenant_id: str) -> list[sa.Row]:
    """Open invitations (neither accepted nor revoked), newest first."""
    return list(
        (
            await session.execute(
                sa.select(invitations)
                .where(
                    invitations.c.tenant_id == tenant_id,
                    invitations.c.accepted_at.is_(None),
                    invitations.c.revoked_at.is_(None),
                )
                .order_by(invitations.c.created_at.desc())
            )
        ).all()
    )


async def open_invitation(
    session: AsyncSession,
    *,
    tenant_id: str,
    email: str | None = None,
    invitation_id: str | None = None,
) -> sa.Row | None:
    """The team's open invitation (neither accepted nor revoked, expired or not) for an
    address or by id, locked for the renewal that follows."""
    conditions = [
        invitations.c.tenant_id == tenant_id,
        invitations.c.accepted_at.is_(None),
        invitations.c.revoked_at.is_(None),
    ]
    if email is not None:
        conditions.append(invitations.c.email == email)
    if invitation_id is not None:
        conditions.append(invitations.c.id == invitation_id)
    query = sa.select(invitations).where(*conditions).order_by(invitations.c.created_at.desc())
    return (await session.execute(query.limit(1).with_for_update())).first()


async def renew_invitation(
    session: AsyncSession, *, tenant_id: str, invitation_id: str, **values: Any
) -> bool:
    """A new token (the old link stops working) and expiry for an open invitation."""
    result = await session.execute(
        invitations.update()
        .where(
            invitations.c.tenant_id == tenant_id,
            invitations.c.id == invitation_id,
            invitations.c.accepted_at.is_(None),
            invitations.c.revoked_at.is_(None),
        )
        .values(**values)
    )
    return rowcount(result) == 1


async def find_invitation(session: AsyncSession, token_hash: str) -> sa.Row | None:
    """An invitation of an active tenant, by its token."""
    return (
        await session.execute(
            sa.select(invitations, tenants.c.name.label("tenant_name"))
            .join(tenants, tenants.c.id == invitations.c.tenant_id)
            .where(invitations.c.token_hash == token_hash, tenants.c.deleted_at.is_(None))
        )
    ).first()


async def accept_invitation(session: AsyncSession, *, invitation_id: str, user_id: str) -> bool:
    result = await session.execute(
        invitations.update()
        .where(
            invitations.c.id == invitation_id,
            invitations.c.accepted_at.is_(None),
            invitations.c.revoked_at.is_(None),
        )
        .values(accepted_at=now(), accepted_by=user_id)
    )
    return rowcount(result) == 1


async def revoke_invitations(
    session: AsyncSession, *, tenant_id: str, invitation_id: str | None = None
) -> int:
    conditions = [
        invitations.c.tenant_id == tenant_id,
        invitations.c.accepted_at.is_(None),
        invitations.c.revoked_at.is_(None),
    ]
    if invitation_id is not None:
        conditions.append(invitations.c.id == invitation_id)
    result = await session.execute(invitations.update().where(*conditions).values(revoked_at=now()))
    return rowcount(result)
