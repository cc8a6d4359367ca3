"""The team itself: its settings, deleting it."""

from __future__ import annotations

from pingvas_contracts.events.tenants import ImageDeletion, TenantDeleted, TenantSettingsChanged

from ..adapters import repository as repo
from ..domain.errors import NotFound
from ._context import Context
from ._sessions import revoke_keys


async def team_settings(ctx: Context, *, tenant_id: str) -> ImageDeletion:
    """The team's `member_image_deletion`."""
    async with ctx.db.sessionmaker() as session:
        tenant = await repo.get_tenant(session, tenant_id=tenant_id)
    if tenant is None:
        raise NotFound("No such team.")
    return "any" if tenant.member_image_deletion == "any" else "own"


async def change_team_settings(
    ctx: Context,
    *,
    tenant_id: str,
    member_image_deletion: ImageDeletion,
    actor_id: str,
    ip: str | None,
) -> ImageDeletion:
    """Stores the settings, audits a change and tells the services that enforce them
    (`tenant.settings_changed`: render, for deleting images); the same value again changes
    nothing and says nothing."""
    async with ctx.db.transaction() as session:
        tenant = await repo.get_tenant(session, tenant_id=tenant_id)
        if tenant is None:
            raise NotFound("No such team.")
        if tenant.member_image_deletion == member_image_deletion:
            return member_image_deletion
        at = repo.now()
        await repo.set_member_image_deletion(
            session, tenant_id=tenant_id, value=member_image_deletion
        )
        await repo.audit(
            session,
            tenant_id=tenant_id,
            action="tenant.settings_changed",
            actor_id=actor_id,
            target_type="tenant",
            target_id=tenant_id,
            ip=ip,
            details={"member_image_deletion": member_image_deletion},
        )
        await ctx.runtime.outbox.add(
            session,
            TenantSettingsChanged(
                member_image_deletion=member_image_deletion,
                changed_by_user_id=actor_id,
                changed_at=at,
            ),
            tenant_id=tenant_id,
        )
    return member_image_deletion


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
