"""The entitlements projection and the purge of a deleted tenant, each applied inside the
consumer's transaction (with its inbox row), so a redelivered event changes nothing.

tenant.created and billing's events may arrive in any order: whichever comes first
creates the tenant's row; a subscription event older than the row's state is ignored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts.events.billing import Entitlements
from pingvas_contracts.plans import PLANS
from pingvas_kit.logging import get_logger

from ..adapters import repository as repo
from ..adapters.s3 import ImageStore, tenant_prefix
from ..domain.entitlements import absorbed_credits, is_stale, lapsed_credits, plan_limits
from .jobs import Jobs

log = get_logger("pingvas.render.entitlements")


async def open_free_plan(session: AsyncSession, *, tenant_id: str) -> None:
    """A new tenant starts on the Free plan with its monthly credits (seed credits: the
    plan_start grant billing sends for them is not counted twice)."""
    if await repo.lock_entitlements(session, tenant_id=tenant_id) is not None:
        return  # billing's events got here first; they speak for the tenant
    free = PLANS["free"]
    await repo.insert_entitlements(
        session,
        tenant_id=tenant_id,
        **plan_limits("free", free),
        credits_available=free.monthly_credits,
        credits_reserved=0,
        seed_credits=free.monthly_credits,
        billing_updated_at=None,
    )


async def set_plan(
    session: AsyncSession,
    *,
    tenant_id: str,
    plan: str,
    entitlements: Entitlements,
    updated_at: datetime,
) -> None:
    """The subscription's plan and limits, unless the row already holds a newer state."""
    row = await repo.lock_entitlements(session, tenant_id=tenant_id)
    limits = plan_limits(plan, entitlements)
    if row is None:
        await repo.insert_entitlements(
            session,
            tenant_id=tenant_id,
            **limits,
            credits_available=0,
            credits_reserved=0,
            billing_updated_at=updated_at,
        )
        return
    held = repo.aware(row.billing_updated_at)
    if is_stale(held, updated_at):
        log.info("render.entitlements_stale_event", held=held.isoformat() if held else None)
        return
    await repo.update_entitlements(
        session, tenant_id=tenant_id, **limits, billing_updated_at=updated_at
    )


async def grant_credits(
    session: AsyncSession, *, tenant_id: str, plan: str, credits: int, reason: str
) -> None:
    row = await repo.lock_entitlements(session, tenant_id=tenant_id)
    if row is None:
        await repo.insert_entitlements(
            session,
            tenant_id=tenant_id,
            **plan_limits(plan, PLANS.get(plan, PLANS["free"])),
            credits_available=credits,
            credits_reserved=0,
            billing_updated_at=None,
        )
        return
    absorbed = absorbed_credits(seed_credits=row.seed_credits, granted=credits, reason=reason)
    await repo.add_credits(
        session, tenant_id=tenant_id, available=credits - absorbed, seed=-absorbed
    )


async def expire_credits(session: AsyncSession, *, tenant_id: str, credits: int) -> None:
    row = await repo.lock_entitlements(session, tenant_id=tenant_id)
    if row is None:
        return
    lapse = lapsed_credits(
        expired=credits, available=row.credits_available, reserved=row.credits_reserved
    )
    await repo.add_credits(session, tenant_id=tenant_id, available=-lapse)


async def store_team_settings(
    session: AsyncSession, *, tenant_id: str, member_image_deletion: str, changed_at: datetime
) -> None:
    """The team settings render enforces (who may delete another member's images), the
    latest tenants sent: an older `tenant.settings_changed` arriving late changes nothing."""
    await repo.store_team_settings(
        session,
        tenant_id=tenant_id,
        member_image_deletion=member_image_deletion,
        changed_at=changed_at,
    )


async def purge_tenant(
    session: AsyncSession, jobs: Jobs, store: ImageStore, *, tenant_id: str
) -> None:
    """Cancel the tenant's unfinished jobs, delete its objects, then its rows."""
    cancelled = await jobs.cancel_for_tenant_deletion(session, tenant_id)
    # the objects first: if S3 fails the transaction rolls back and the event is retried
    removed = await store.delete_prefix(tenant_prefix(tenant_id))
    await repo.purge_tenant(session, tenant_id=tenant_id)
    log.info("render.tenant_purged", objects=removed, jobs_cancelled=len(cancelled))
    await jobs.forget(cancelled)
