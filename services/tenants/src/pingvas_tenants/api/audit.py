"""The tenant's audit log of security events, newest first, for admins."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from pingvas_kit.http import problem_responses
from pingvas_kit.params import IsoDateTime
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
        "The team's security events (log-ins, keys, members, roles, invitations, settings, deleted"
        " images), newest first, a page of `limit` at a time: pass `next_cursor` as `cursor` for "
        "the next page (with the same filters). Filters: `actor_id` (who did it), `action` (one "
        "action such as `invitation.sent`, or a family such as `invitation`), `from` (inclusive)"
        " and `to` (exclusive) times. Each entry names its actor and a person it was done to. "
        "Owners and admins."
    ),
    responses=problem_responses(403, 422),
)
async def audit_log(
    me: Admin,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
    actor_id: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+(\.[a-z_]+)?$")] = None,
    since: Annotated[IsoDateTime | None, Query(alias="from")] = None,
    until: Annotated[IsoDateTime | None, Query(alias="to")] = None,
) -> AuditPage:
    before = None
    if cursor is not None:
        if not cursor.isdigit():
            raise Invalid("The cursor is not valid.", code=INVALID_CURSOR, field="cursor")
        before = int(cursor)
    async with ctx.db.sessionmaker() as session:
        rows = await repo.audit_page(
            session,
            tenant_id=me.tenant_id,
            before=before,
            limit=limit + 1,
            actor_id=actor_id,
            action=action,
            since=_utc(since),
            until=_utc(until),
        )
    page = rows[:limit]
    return AuditPage(
        items=[
            AuditEntry(
                id=r.id,
                action=r.action,
                actor_id=r.actor_id,
                actor_kind=r.actor_kind,
                actor_name=r.actor_name,
                actor_email=r.actor_email,
                target_type=r.target_type,
                target_id=r.target_id,
                target_name=r.target_name,
                target_email=r.target_email,
                ip=r.ip,
                details=r.details,
                created_at=repo.aware(r.created_at),
            )
            for r in page
        ],
        next_cursor=str(page[-1].id) if len(rows) > limit else None,
    )


def _utc(value: datetime | None) -> datetime | None:
    """A time without an offset is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
