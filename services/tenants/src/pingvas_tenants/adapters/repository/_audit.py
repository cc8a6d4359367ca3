"""The audit log of each team: what was done, by whom, from where."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import (
    api_keys,
    audit_log,
    users,
)
from ._common import now


async def audit(
    session: AsyncSession,
    *,
    tenant_id: str | None,
    action: str,
    actor_id: str | None,
    actor_kind: str | None = "user",
    target_type: str | None = None,
    target_id: str | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await session.execute(
        audit_log.insert().values(
            tenant_id=tenant_id,
            action=action,
            actor_id=actor_id,
            actor_kind=actor_kind,
            target_type=target_type,
            target_id=target_id,
            ip=ip,
            details=details,
            created_at=now(),
        )
    )


async def audit_page(
    session: AsyncSession,
    *,
    tenant_id: str,
    before: int | None,
    limit: int,
    actor_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[sa.Row]:
    """Newest first; `before` is the id the previous page ended at. `action` is one action
    (`invitation.sent`) or a family (`invitation`: every `invitation.*`); `since` inclusive,
    `until` exclusive. Each row comes with the names to say it in words: `actor_name` (the
    person's name, or the API key's), `actor_email`, and `target_name` / `target_email` for
    a person it was done to."""
    actor = users.alias("actor")
    target = users.alias("target")
    key = api_keys.alias("key")
    c = audit_log.c
    query = (
        sa.select(
            audit_log,
            sa.func.coalesce(actor.c.name, key.c.name).label("actor_name"),
            actor.c.email.label("actor_email"),
            target.c.name.label("target_name"),
            target.c.email.label("target_email"),
        )
        .outerjoin(actor, sa.and_(c.actor_kind == "user", actor.c.id == c.actor_id))
        .outerjoin(
            key,
            sa.and_(
                c.actor_kind == "api_key", key.c.id == c.actor_id, key.c.tenant_id == tenant_id
            ),
        )
        .outerjoin(target, sa.and_(c.target_type == "user", target.c.id == c.target_id))
        .where(c.tenant_id == tenant_id)
    )
    if before is not None:
        query = query.where(c.id < before)
    if actor_id is not None:
        query = query.where(c.actor_id == actor_id)
    if action is not None:
        if "." in action:
            query = query.where(c.action == action)
        else:
            query = query.where(c.action.startswith(f"{action}.", autoescape=True))
    if since is not None:
        query = query.where(c.created_at >= since)
    if until is not None:
        query = query.where(c.created_at < until)
    return list((await session.execute(query.order_by(c.id.desc()).limit(limit))).all())
