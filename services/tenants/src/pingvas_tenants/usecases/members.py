"""The people of a team: their roles, and removing them (or leaving)."""

from __future__ import annotations

import sqlalchemy as sa

from pingvas_contracts.events.tenants import MemberRemoved

from ..adapters import repository as repo
from ..domain import roles
from ..domain.errors import NotFound
from ._context import Context
from ._sessions import revoke_keys


async def list_members(ctx: Context, *, tenant_id: str) -> list[sa.Row]:
    async with ctx.db.sessionmaker() as session:
        return await repo.members_of_tenant(session, tenant_id=tenant_id)


async def change_role(
    ctx: Context,
    *,
    tenant_id: str,
    user_id: str,
    role: str,
    actor_id: str,
    actor_role: str,
    ip: str | None,
) -> sa.Row:
    """The member's new role, within what the actor's role allows (a team keeps an owner).
    The member as listed afterwards."""
    async with ctx.db.transaction() as session:
        target = await repo.get_membership(session, tenant_id=tenant_id, user_id=user_id)
        if target is None:
            raise NotFound("No such member.")
        owners = await repo.count_owners(session, tenant_id=tenant_id)
        roles.check_role_change(actor_role=actor_role, current=target.role, new=role, owners=owners)
        if role != target.role:
            await repo.set_role(session, tenant_id=tenant_id, user_id=user_id, role=role)
            await repo.audit(
                session,
                tenant_id=tenant_id,
                action="member.role_changed",
                actor_id=actor_id,
                target_type="user",
                target_id=user_id,
                ip=ip,
                details={"from": target.role, "to": role},
            )
        return next(
            r
            for r in await repo.members_of_tenant(session, tenant_id=tenant_id)
            if r.user_id == user_id
        )


async def remove_member(
    ctx: Context,
    *,
    tenant_id: str,
    user_id: str,
    actor_id: str,
    actor_role: str,
    ip: str | None,
) -> None:
    """Admins remove others; anyone may leave. Their sessions in the team end, and so do the
    API keys they made for it."""
    is_self = user_id == actor_id
    async with ctx.db.transaction() as session:
        target = await repo.get_membership(session, tenant_id=tenant_id, user_id=user_id)
        if target is None:
            raise NotFound("No such member.")
        owners = await repo.count_owners(session, tenant_id=tenant_id)
        roles.check_removal(
            actor_role=actor_role, is_self=is_self, current=target.role, owners=owners
        )
        at = repo.now()
        await repo.remove_membership(session, tenant_id=tenant_id, user_id=user_id)
        await repo.revoke_refresh_tokens(session, user_id=user_id, tenant_id=tenant_id)
        await revoke_keys(
            session,
            ctx,
            await repo.live_api_keys(session, tenant_id=tenant_id, created_by=user_id),
            tenant_id=tenant_id,
            by_user_id=actor_id,
            reason="member_removed",
            at=at,
        )
        reason = "left" if is_self else "removed"
        await repo.audit(
            session,
            tenant_id=tenant_id,
            action=f"member.{reason}",
            actor_id=actor_id,
            target_type="user",
            target_id=user_id,
            ip=ip,
            details={"role": target.role},
        )
        await ctx.runtime.outbox.add(
            session,
            MemberRemoved(
                user_id=user_id, removed_by_user_id=actor_id, reason=reason, removed_at=at
            ),
            tenant_id=tenant_id,
        )
