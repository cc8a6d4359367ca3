"""The operators' tenant directory (docs/search.md, "API"): platform staff only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from pingvas_kit.db import aware
from pingvas_kit.http import CodedHTTPException, problem_responses
from pingvas_kit.problems import INVALID_CURSOR

from ..adapters import repository as repo
from .deps import Ctx, Operator

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


class TenantOut(BaseModel):
    tenant_id: str
    name: str | None
    slug: str | None
    owner_email: str | None
    plan: str
    subscription_status: str | None
    status: str
    created_at: datetime | None
    deleted_at: datetime | None


class TenantPage(BaseModel):
    items: list[TenantOut]
    next_cursor: str | None


@router.get(
    "/tenants",
    summary="List every team (operators)",
    description=(
        "The platform's teams with their plan, subscription status, owner and state, filtered by "
        "`q`, `plan`, `status` and `subscription_status`, a page at a time; for Pingvas's own "
        "staff (platform operators) only."
    ),
    responses=problem_responses(403, 422),
)
async def list_tenants(
    op: Operator,
    ctx: Ctx,
    q: Annotated[str, Query(max_length=200)] = "",
    plan: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    subscription_status: Annotated[str | None, Query(max_length=32)] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TenantPage:
    after = None
    if cursor:
        try:
            after = repo.decode_cursor(cursor)
        except ValueError:
            raise CodedHTTPException(
                400, INVALID_CURSOR, "That is not a cursor of this list; start again without it."
            ) from None
    async with ctx.db.sessionmaker() as session:
        rows = list(
            await repo.list_tenants(
                session,
                q=q,
                plan=plan,
                status=status,
                subscription_status=subscription_status,
                after=after,
                limit=limit + 1,
            )
        )
    more = len(rows) > limit
    rows = rows[:limit]
    return TenantPage(
        items=[
            TenantOut(
                tenant_id=r.tenant_id,
                name=r.name,
                slug=r.slug,
                owner_email=r.owner_email,
                plan=r.plan,
                subscription_status=r.subscription_status,
                status=r.status,
                created_at=aware(r.created_at) if r.created_at else None,
                deleted_at=aware(r.deleted_at) if r.deleted_at else None,
            )
            for r in rows
        ],
        next_cursor=repo.encode_cursor(rows[-1].created_at, rows[-1].tenant_id) if more else None,
    )
