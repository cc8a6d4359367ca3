"""The tenant's entitlements as render sees them: a projection of `tenant.created` and the
billing events, and the purge of a deleted tenant. Every handler runs in the inbox's
transaction, so a redelivered event changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts import Envelope
from pingvas_contracts.events.billing import (
    CreditsExhausted,
    CreditsExpired,
    CreditsGranted,
    Entitlements,
    PaymentFailed,
    PaymentSucceeded,
    SubscriptionActivated,
    SubscriptionCancelled,
    SubscriptionChanged,
    SubscriptionExpired,
)
from pingvas_contracts.events.tenants import TenantCreated, TenantDeleted
from pingvas_contracts.plans import PLANS
from pingvas_kit.inbox import EventConsumer
from pingvas_kit.logging import get_logger

from ..adapters import repository as repo
from ..adapters.db import entitlements
from ..adapters.s3 import ImageStore, tenant_prefix
from .jobs import Jobs, _Notes

log = get_logger("pingvas.render.entitlements")

SubscriptionState = SubscriptionActivated | SubscriptionChanged | SubscriptionCancelled


def _limits(plan: str, e: Entitlements) -> dict[str, Any]:
    return {
        "plan": plan,
        "monthly_credits": e.monthly_credits,
        "max_concurrent_jobs": e.max_concurrent_jobs,
        "max_images_per_job": e.max_images_per_job,
        "max_width": e.max_width,
        "max_height": e.max_height,
        "allowed_models": list(e.allowed_models),
        "priority_weight": e.priority_weight,
    }


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


async def _row(session: AsyncSession, tenant_id: str) -> sa.Row | None:
    query = sa.select(entitlements).where(entitlements.c.tenant_id == tenant_id)
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    return (await session.execute(query)).first()


def register(consumer: EventConsumer, jobs: Jobs, store: ImageStore) -> None:
    @consumer.on(TenantCreated)
    async def tenant_created(session: AsyncSession, event: Envelope, data: TenantCreated) -> None:
        if await _row(session, event.tenantid) is not None:
            return  # billing's events got here first; they speak for the tenant
        free = PLANS["free"]
        await session.execute(
            entitlements.insert().values(
                tenant_id=event.tenantid,
                **_limits("free", free),
                credits_available=free.monthly_credits,
                credits_reserved=0,
                seed_credits=free.monthly_credits,
                billing_updated_at=None,
                updated_at=repo.now(),
            )
        )

    @consumer.on(
        SubscriptionActivated, SubscriptionChanged, SubscriptionCancelled, SubscriptionExpired
    )
    async def subscription(
        session: AsyncSession, event: Envelope, data: SubscriptionState | SubscriptionExpired
    ) -> None:
        row = await _row(session, event.tenantid)
        limits = _limits(data.plan, data.entitlements)
        if row is None:
            await session.execute(
                entitlements.insert().values(
                    tenant_id=event.tenantid,
                    **limits,
                    credits_available=0,
                    credits_reserved=0,
                    billing_updated_at=data.updated_at,
                    updated_at=repo.now(),
                )
            )
            return
        held = _aware(row.billing_updated_at)
        if held is not None and data.updated_at <= held:
            log.info("render.entitlements_stale_event", held=held.isoformat())
            return
        await session.execute(
            entitlements.update()
            .where(entitlements.c.tenant_id == event.tenantid)
            .values(**limits, billing_updated_at=data.updated_at, updated_at=repo.now())
        )

    @consumer.on(CreditsGranted)
    async def credits_granted(session: AsyncSession, event: Envelope, data: CreditsGranted) -> None:
        row = await _row(session, event.tenantid)
        if row is None:
            plan = PLANS.get(data.plan, PLANS["free"])
            await session.execute(
                entitlements.insert().values(
                    tenant_id=event.tenantid,
                    **_limits(data.plan, plan),
                    credits_available=data.credits,
                    credits_reserved=0,
                    billing_updated_at=None,
                    updated_at=repo.now(),
                )
            )
            return
        # the free plan's first grant is what tenant.created already gave: count it once
        absorbed = min(row.seed_credits, data.credits) if data.reason == "plan_start" else 0
        c = entitlements.c
        await session.execute(
            entitlements.update()
            .where(c.tenant_id == event.tenantid)
            .values(
                credits_available=c.credits_available + (data.credits - absorbed),
                seed_credits=c.seed_credits - absorbed,
                updated_at=repo.now(),
            )
        )

    @consumer.on(CreditsExpired)
    async def credits_expired(session: AsyncSession, event: Envelope, data: CreditsExpired) -> None:
        row = await _row(session, event.tenantid)
        if row is None:
            return
        # never below what running jobs hold: their settlement comes out of what is left
        lapse = max(0, min(data.credits, row.credits_available - row.credits_reserved))
        c = entitlements.c
        await session.execute(
            entitlements.update()
            .where(c.tenant_id == event.tenantid)
            .values(credits_available=c.credits_available - lapse, updated_at=repo.now())
        )

    @consumer.on(PaymentSucceeded, PaymentFailed, CreditsExhausted)
    async def nothing_to_do(
        session: AsyncSession,
        event: Envelope,
        data: PaymentSucceeded | PaymentFailed | CreditsExhausted,
    ) -> None:
        # payments change nothing render enforces: their effects arrive as
        # subscription.* (limits) and credits.granted (balance). credits.exhausted is
        # billing's view of a balance render already tracks and enforces with 402.
        return None

    @consumer.on(TenantDeleted)
    async def tenant_deleted(session: AsyncSession, event: Envelope, data: TenantDeleted) -> None:
        tenant_id = event.tenantid
        notes = _Notes()
        for job in await repo.unfinished_jobs(session, tenant_id=tenant_id):
            await jobs._cancel_in(session, job, notes, stage=_stage(job.status), by="system")
        # the objects first: if S3 fails the transaction rolls back and the event is retried
        removed = await store.delete_prefix(tenant_prefix(tenant_id))
        await repo.purge_tenant(session, tenant_id=tenant_id)
        log.info("render.tenant_purged", objects=removed, jobs_cancelled=len(notes.events))
        for job_id, _seq in notes.events:
            await jobs.hub.forget(job_id)


def _stage(status: str) -> str:
    return "running" if status == "running" else "queued"
