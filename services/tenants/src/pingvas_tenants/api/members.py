"""The people of the current team and their roles."""

from __future__ import annotations

from fastapi import APIRouter, Response

from pingvas_contracts.events.tenants import MemberRemoved

from ..adapters import repository as repo
from ..domain import roles
from ..domain.errors import NotFound
from .deps import Admin, AnyMember, Ctx
from .schemas import MemberOut, RoleIn
from .sessions import emit, revoke_keys

router = APIRouter(prefix="/api/v1/members", tags=["members"])


def _out(row) -> MemberOut:
    return MemberOut(
        user_id=row.user_id,
        email=row.email,
        name=row.name,
        role=row.role,
        email_verified=row.email_verified_at is not None,
        joined_at=repo.aware(row.created_at),
    )


@router.get("")
async def list_members(me: AnyMember, ctx: Ctx) -> list[MemberOut]:
    async with ctx.db.sessionmaker() as session:
        rows = await repo.members_of_tenant(session, tenant_id=me.tenant_id)
    return [_out(r) for r in rows]


@router.patch("/{user_id}")
async def change_role(user_id: str, body: RoleIn, me: Admin, ctx: Ctx) -> MemberOut:
    async with ctx.db.transaction() as session:
        target = await repo.get_membership(session, tenant_id=me.tenant_id, user_id=user_id)
        if target is None:
            raise NotFound("No such member.")
        owners = await repo.count_owners(session, tenant_id=me.tenant_id)
        roles.check_role_change(
            actor_role=me.role, current=target.role, new=body.role, owners=owners
        )
        if body.role != target.role:
            await repo.set_role(session, tenant_id=me.tenant_id, user_id=user_id, role=body.role)
            await repo.audit(
                session,
                tenant_id=me.tenant_id,
                action="member.role_changed",
                actor_id=me.user_id,
                target_type="user",
                target_id=user_id,
                ip=me.ip,
                details={"from": target.role, "to": body.role},
            )
        row = next(
            r
            for r in await repo.members_of_tenant(session, tenant_id=me.tenant_id)
            if r.user_id == user_id
        )
    return _out(row)


@router.delete("/{user_id}", status_code=204)
async def remove_member(user_id: str, me: AnyMember, ctx: Ctx) -> Response:
    """Admins remove others; anyone may leave."""
    is_self = user_id == me.user_id
    async with ctx.db.transaction() as session:
        target = await repo.get_membership(session, tenant_id=me.tenant_id, user_id=user_id)
        if target is None:
            raise NotFound("No such member.")
        owners = await repo.count_owners(session, tenant_id=me.tenant_id)
        roles.check_removal(actor_role=me.role, is_self=is_self, current=target.role, owners=owners)
        at = repo.now()
        await repo.remove_membership(session, tenant_id=me.tenant_id, user_id=user_id)
        # their sessions in this team end, and so do the keys they made for it
        await repo.revoke_refresh_tokens(session, user_id=user_id, tenant_id=me.tenant_id)
        await revoke_keys(
            session,
            ctx,
            await repo.live_api_keys(session, tenant_id=me.tenant_id, created_by=user_id),
            tenant_id=me.tenant_id,
            by_user_id=me.user_id,
            reason="member_removed",
            at=at,
        )
        reason = "left" if is_self else "removed"
        await repo.audit(
            session,
            tenant_id=me.tenant_id,
            action=f"member.{reason}",
            actor_id=me.user_id,
            target_type="user",
            target_id=user_id,
            ip=me.ip,
            details={"role": target.role},
        )
        await emit(
            session,
            ctx,
            MemberRemoved(
                user_id=user_id, removed_by_user_id=me.user_id, reason=reason, removed_at=at
            ),
            tenant_id=me.tenant_id,
        )
    return Response(status_code=204)
