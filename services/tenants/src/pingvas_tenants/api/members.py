"""The people of the current team and their roles."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Response

from pingvas_kit.http import problem_responses

from .. import usecases
from ..adapters import repository as repo
from .deps import Admin, AnyMember, Ctx
from .schemas import MemberOut, RoleIn

router = APIRouter(prefix="/api/v1/members", tags=["members"])


def _out(row: sa.Row) -> MemberOut:
    return MemberOut(
        user_id=row.user_id,
        email=row.email,
        name=row.name,
        role=row.role,
        email_verified=row.email_verified_at is not None,
        joined_at=repo.aware(row.created_at),
    )


@router.get(
    "",
    summary="List the team's members",
    description="Everyone in the team with their role and whether their address is verified. Any member.",
    responses=problem_responses(403),
)
async def list_members(me: AnyMember, ctx: Ctx) -> list[MemberOut]:
    return [_out(r) for r in await usecases.list_members(ctx, tenant_id=me.tenant_id)]


@router.patch(
    "/{user_id}",
    summary="Change a member's role",
    description=(
        "Owners and admins; only an owner makes or unmakes owners, and a team keeps at least one "
        "owner."
    ),
    responses=problem_responses(403, 404, 409, 422),
)
async def change_role(user_id: str, body: RoleIn, me: Admin, ctx: Ctx) -> MemberOut:
    row = await usecases.change_role(
        ctx,
        tenant_id=me.tenant_id,
        user_id=user_id,
        role=body.role,
        actor_id=me.user_id,
        actor_role=me.role,
        ip=me.ip,
    )
    return _out(row)


@router.delete(
    "/{user_id}",
    status_code=204,
    summary="Remove a member, or leave",
    responses=problem_responses(403, 404, 409),
)
async def remove_member(user_id: str, me: AnyMember, ctx: Ctx) -> Response:
    """Admins remove others; anyone may leave."""
    await usecases.remove_member(
        ctx,
        tenant_id=me.tenant_id,
        user_id=user_id,
        actor_id=me.user_id,
        actor_role=me.role,
        ip=me.ip,
    )
    return Response(status_code=204)
