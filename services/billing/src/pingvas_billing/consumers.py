"""Every event billing consumes, each handler typed by its event's contract model.

- `tenant.created` opens the Free plan, `tenant.deleted` purges what billing holds
  (`usecases.tenants`).
- Render's job events move credits (`usecases.ledger`): queued reserves, completed settles
  (and releases the rest), failed and cancelled release.

Each handler runs in the inbox's transaction, and the ledger is unique per (kind, job), so
every job moves credits exactly once however often and in whatever order its events
arrive. An event without a tenant changes nothing (logged)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts import Envelope
from pingvas_contracts.events.render import JobCancelled, JobCompleted, JobFailed, JobQueued
from pingvas_contracts.events.tenants import TenantCreated, TenantDeleted
from pingvas_kit.inbox import EventConsumer
from pingvas_kit.logging import get_logger
from pingvas_kit.service import ServiceRuntime

from .plans import Plans
from .usecases import ledger, tenants

log = get_logger("pingvas.billing.consumers")


def _tenant(event: Envelope) -> str | None:
    if event.tenantid is None:
        log.warning("billing.event_without_tenant", event_type=event.type)
    return event.tenantid


def register(consumer: EventConsumer, runtime: ServiceRuntime, plans: Plans) -> None:
    """Register every handler; `runtime` gives the outbox."""
    register_tenants(consumer, runtime, plans)
    register_jobs(consumer, runtime)


def register_tenants(consumer: EventConsumer, runtime: ServiceRuntime, plans: Plans) -> None:
    @consumer.on(TenantCreated)
    async def tenant_created(session: AsyncSession, event: Envelope, data: TenantCreated) -> None:
        if (tenant_id := _tenant(event)) is None:
            return
        opened = await tenants.open_free_plan(
            session, runtime, plans, tenant_id=tenant_id, data=data
        )
        log.info("billing.tenant_opened", free_plan=opened)

    @consumer.on(TenantDeleted)
    async def tenant_deleted(session: AsyncSession, event: Envelope, data: TenantDeleted) -> None:
        if (tenant_id := _tenant(event)) is None:
            return
        removed = await tenants.purge_tenant(session, tenant_id=tenant_id)
        log.info("billing.tenant_purged", **removed)


def register_jobs(consumer: EventConsumer, runtime: ServiceRuntime) -> None:
    """Render's four job events into the ledger."""
    outbox = runtime.outbox

    @consumer.on(JobQueued)
    async def job_queued(session: AsyncSession, event: Envelope, data: JobQueued) -> None:
        if (tenant_id := _tenant(event)) is None:
            return
        await ledger.reserve(
            session,
            tenant_id=tenant_id,
            job_id=data.job_id,
            credits=data.credits_reserved,
            user_id=data.user_id,
            api_key_id=data.api_key_id,
            at=data.queued_at,
        )

    @consumer.on(JobCompleted)
    async def job_completed(session: AsyncSession, event: Envelope, data: JobCompleted) -> None:
        if (tenant_id := _tenant(event)) is None:
            return
        await ledger.settle(
            session,
            tenant_id=tenant_id,
            job_id=data.job_id,
            reserved=data.credits_reserved,
            used=data.credits_used,
            user_id=data.user_id,
            api_key_id=data.api_key_id,
            at=data.completed_at,
            outbox=outbox,
        )

    @consumer.on(JobFailed, JobCancelled)
    async def job_ended(
        session: AsyncSession, event: Envelope, data: JobFailed | JobCancelled
    ) -> None:
        if (tenant_id := _tenant(event)) is None:
            return
        await ledger.release(
            session,
            tenant_id=tenant_id,
            job_id=data.job_id,
            reserved=data.credits_reserved,
            user_id=data.user_id,
            api_key_id=data.api_key_id,
            at=data.failed_at if isinstance(data, JobFailed) else data.cancelled_at,
        )
