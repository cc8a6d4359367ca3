"""The current tenant itself: deleting it (owners, confirmed by typing its name)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from pingvas_contracts.events.tenants import TenantDeleted

from ..adapters import repository as repo
from ..domain.errors import Invalid
from .deps import Ctx, Owner
from .schemas import DeleteTenantIn
from .sessions import emit, revoke_keys

router = APIRouter(prefix="/api/v1/tenant", tags=["tenant"])


@router.delete("", status_code=204)
async def delete_tenant(body: DeleteTenantIn, me: Owner, ctx: Ctx) -> Response:
    if body.confirm.strip() != me.tenant_name:
        raise Invalid("Type the team's name exactly to confirm.")
    at = repo.now()
    async with ctx.db.transaction() as session:
        await repo.revoke_refresh_tokens(session, tenant_id=me.tenant_id)
        await repo.revoke_invitations(session, tenant_id=me.tenant_id)
        await revoke_keys(
            session,
            ctx,
            await repo.live_api_keys(session, tenant_id=me.tenant_id),
            tenant_id=me.tenant_id,
            by_user_id=me.user_id,
            reason="tenant_deleted",
            at=at,
        )
        await repo.mark_tenant_deleted(session, tenant_id=me.tenant_id, at=at)
        await repo.audit(
            session,
            tenant_id=me.tenant_id,
            action="tenant.deleted",
            actor_id=me.user_id,
            target_type="tenant",
            target_id=me.tenant_id,
            ip=me.ip,
        )
        await emit(
            session,
            ctx,
            TenantDeleted(
                slug=me.tenant_slug,
                deleted_by_user_id=me.user_id,
                reason="owner_request",
                deleted_at=at,
            ),
            tenant_id=me.tenant_id,
        )
    return Response(status_code=204)
