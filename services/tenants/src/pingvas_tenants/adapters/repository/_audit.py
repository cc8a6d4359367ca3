"""The audit log of each team: what was done, by whom, from where."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import (
    audit_log,
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
    session: AsyncSession, *, tenant_id: str, before: int | None, limit: int
) -> list[sa.Row]:
    """Newest first; `before` is the id the previous page ended at."""
    query = sa.select(audit_log).where(audit_log.c.tenant_id == tenant_id)
    if before is not None:
        query = query.where(audit_log.c.id < before)
    return list((await session.execute(query.order_by(audit_log.c.id.desc()).limit(limit))).all())
