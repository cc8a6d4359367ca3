"""The tenant's audit log of security events, newest first, for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from pingvas_kit.http import problem_responses
from pingvas_kit.problems import INVALID_CURSOR

from ..adapters import repository as repo
from ..domain.errors import Invalid
from .deps import Admin, Ctx
from .schemas import AuditEntry, AuditPage

router = APIRouter(prefix="/api/v1/audit-log", tags=["audit-log"])


@router.get(
    "",
    summary="The audit log",
    description=(
        "The team's security events (log-ins, keys, members, roles, invitations), newest first, a"
        " page of `limit` at a time: pass `next_cursor` as `cursor` for the next page. Owners and"
        " admins."
    ),
    responses=problem_responses(403, 422),
)
async def audit_log(
    me: Admin,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
) -> AuditPage:
    before = None
    if cursor is not None:
        if not cursor.isdigit():
            raise Invalid("The cursor is not valid.", code=INVALID_CURSOR, field="cursor")
        before = int(cursor)
    async with ctx.db.sessionmaker() as session:
        rows = await repo.audit_page(
            session, tenant_id=me.tenant_id, before=before, limit=limit + 1
        )
    page = rows[:limit]
    return AuditPage(
        items=[
            AuditEntry(
                id=r.id,
                action=r.action,
                actor_id=r.actor_id,
                actor_kind=r.actor_kind,
                target_type=r.target_type,
                target_id=r.target_id,
                ip=r.ip,
                details=r.details,
                created_at=repo.aware(r.created_at),
            )
            for r in page
        ],
        next_cursor=str(page[-1].id) if len(rows) > limit else None,
    )
