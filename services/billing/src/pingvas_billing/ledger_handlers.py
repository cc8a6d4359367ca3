"""Render's job events into the credit ledger: queued reserves, completed settles (and
releases the rest), failed and cancelled release. Each handler runs in the inbox's
transaction and the ledger is unique per (kind, job), so every job moves credits exactly
once however often and in whatever order its events arrive."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts import Envelope
from pingvas_contracts.events.render import JobCancelled, JobCompleted, JobFailed, JobQueued
from pingvas_kit.inbox import EventConsumer
from pingvas_kit.logging import get_logger

from . import ledger

log = get_logger("pingvas.billing.ledger")



def register(consumer: EventConsumer, runtime: Any) -> None:
    """Register the four handlers; `runtime` gives the outbox (a ServiceRuntime)."""
    outbox = runtime.outbox

    def _tenant(event: Envelope) -> str | None:
        if event.tenantid is None:
            log.warning("billing.ledger_event_without_tenant", event_type=event.type)
        return event.tenantid

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
