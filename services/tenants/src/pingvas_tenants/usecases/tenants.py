"""The team itself: deleting it."""

from __future__ import annotations

from pingvas_contracts.events.tenants import TenantDeleted

from ..adapters import repository as repo
from ._context import Context
from ._sessions import revoke_keys


async def delete_tenant(
    ctx: Context, *, tenant_id: str, tenant_slug: str, actor_id: str, ip: str | None
) -> None:
    """Every session, open invitation and API key of the team ends, and the team is marked
    deleted; `tenant.deleted` tells the other services to clean up."""
    at = repo.now()
    async with ctx.db.transaction() as session:
        await repo.revoke_refresh_tokens(session, tenant_id=tenant_id)
        await repo.revoke_invitations(session, tenant_id=tenant_id)
        await revoke_keys(
            session,
            ctx,
            await repo.live_api_keys(session, tenant_id=tenant_id),
            tenant_id=tenant_id,
            by_user_id=actor_id,
            reason="tenant_deleted",
            at=at,
        )
        await repo.mark_tenant_deleted(session, tenant_id=tenant_id, at=at)
        await repo.audit(
            session,
            tenant_id=tenant_id,
            action="tenant.deleted",
            actor_id=actor_id,
            target_type="tenant",
            target_id=tenant_id,
            ip=ip,
        )
        await ctx.runtime.outbox.add(
            session,
            TenantDeleted(
                slug=tenant_slug,
                deleted_by_user_id=actor_id,
                reason="owner_request",
                deleted_at=at,
            ),
            tenant_id=tenant_id,
        )
