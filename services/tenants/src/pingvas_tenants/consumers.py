"""Every event handler of the tenants service, each typed by its event's model.

- billing's subscription events: the plan shown on the tenant, and `subscription.changed`
  to the endpoints that want it;
- render's job and image events, billing's `credits.exhausted`: partner webhooks, and the
  job's per-request callback when the request named one.

A payload is the public API's JSON of the object (read from its owner, as GET answers it),
never the internal event. Each handler runs in the inbox transaction: an event turns into
its deliveries once."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts import Envelope
from pingvas_contracts.events.billing import (
    CreditsExhausted,
    SubscriptionActivated,
    SubscriptionCancelled,
    SubscriptionChanged,
    SubscriptionExpired,
)
from pingvas_contracts.events.render import (
    Callback,
    ImageCreated,
    ImageDeleted,
    JobCancelled,
    JobCompleted,
    JobFailed,
    JobProgressed,
    JobStarted,
)
from pingvas_kit.inbox import EventConsumer
from pingvas_kit.service import after_commit

from .adapters import repository as repo
from .adapters.public_api import PublicApi
from .domain.webhooks import CALLBACK_FILTERS
from .usecases import webhooks

#: the endpoint event type of each render job event
_JOB_TYPES = {
    JobCompleted.TYPE: "generation.completed",
    JobFailed.TYPE: "generation.failed",
    JobCancelled.TYPE: "generation.cancelled",
}


def _wants(callback: Callback | None, event_type: str) -> bool:
    if callback is None:
        return False
    return any(event_type in CALLBACK_FILTERS[name] for name in callback.events)


def register(consumer: EventConsumer, public_api: PublicApi, wake: Any) -> None:
    """Add the handlers to `consumer`; `wake()` nudges the sender after a commit."""

    def generation(tenant_id: str, job_id: str):  # noqa: ANN202
        async def load() -> dict[str, Any] | None:
            return await public_api.get(
                "render", f"/api/v1/generations/{job_id}", tenant_id=tenant_id
            )

        return load

    async def job_event(
        session: AsyncSession,
        envelope: Envelope,
        *,
        job_id: str,
        event_type: str,
        callback: Callback | None,
    ) -> None:
        tenant_id = envelope.tenantid
        if tenant_id is None:
            return
        load = generation(tenant_id, job_id)
        staged = 0
        if not event_type.startswith(("generation.started", "generation.progress")):
            staged += await webhooks.fan_out(
                session,
                tenant_id=tenant_id,
                event_type=event_type,
                event_id=envelope.id,
                at=envelope.time,
                load=load,
            )
        if callback is not None and _wants(callback, event_type):
            staged += await webhooks.to_callback(
                session,
                tenant_id=tenant_id,
                url=callback.url,
                event_type=event_type,
                event_id=envelope.id,
                at=envelope.time,
                load=load,
            )
        if staged:
            after_commit(session, wake)

    @consumer.on(JobCompleted, JobFailed, JobCancelled)
    async def on_job_finished(
        session: AsyncSession, envelope: Envelope, data: JobCompleted | JobFailed | JobCancelled
    ) -> None:
        await job_event(
            session,
            envelope,
            job_id=data.job_id,
            event_type=_JOB_TYPES[envelope.type],
            callback=data.callback,
        )

    @consumer.on(JobStarted)
    async def on_job_started(session: AsyncSession, envelope: Envelope, data: JobStarted) -> None:
        await job_event(
            session,
            envelope,
            job_id=data.job_id,
            event_type="generation.started",
            callback=data.callback,
        )

    @consumer.on(JobProgressed)
    async def on_job_progressed(
        session: AsyncSession, envelope: Envelope, data: JobProgressed
    ) -> None:
        await job_event(
            session,
            envelope,
            job_id=data.job_id,
            event_type="generation.progress",
            callback=data.callback,
        )

    async def simple(
        session: AsyncSession, envelope: Envelope, event_type: str, load: webhooks.Loader
    ) -> None:
        if envelope.tenantid is None:
            return
        staged = await webhooks.fan_out(
            session,
            tenant_id=envelope.tenantid,
            event_type=event_type,
            event_id=envelope.id,
            at=envelope.time,
            load=load,
        )
        if staged:
            after_commit(session, wake)

    @consumer.on(ImageCreated)
    async def on_image_created(
        session: AsyncSession, envelope: Envelope, data: ImageCreated
    ) -> None:
        tenant_id = envelope.tenantid or ""

        async def load() -> dict[str, Any] | None:
            return await public_api.get(
                "render", f"/api/v1/images/{data.image_id}", tenant_id=tenant_id
            )

        await simple(session, envelope, "image.created", load)

    @consumer.on(ImageDeleted)
    async def on_image_deleted(
        session: AsyncSession, envelope: Envelope, data: ImageDeleted
    ) -> None:
        async def load() -> dict[str, Any] | None:
            # the object is gone: what a partner needs to drop their copy
            return {
                "id": data.image_id,
                "job_id": data.job_id,
                "deleted": True,
                "reason": data.reason,
                "deleted_at": data.deleted_at.isoformat(),
            }

        await simple(session, envelope, "image.deleted", load)
        if envelope.tenantid is not None:
            # the team's audit log: who deleted which image (render holds no log of its own)
            by_key = data.deleted_by_api_key_id
            await repo.audit(
                session,
                tenant_id=envelope.tenantid,
                action="image.deleted",
                actor_id=data.deleted_by_user_id or by_key,
                actor_kind="user" if data.deleted_by_user_id else "api_key" if by_key else "system",
                target_type="image",
                target_id=data.image_id,
                details={"job_id": data.job_id, "reason": data.reason},
            )

    @consumer.on(SubscriptionActivated, SubscriptionChanged, SubscriptionCancelled)
    async def on_subscription(
        session: AsyncSession,
        envelope: Envelope,
        data: SubscriptionActivated | SubscriptionChanged | SubscriptionCancelled,
    ) -> None:
        await _subscription(session, envelope, plan=data.plan, at=data.updated_at)

    @consumer.on(SubscriptionExpired)
    async def on_subscription_expired(
        session: AsyncSession, envelope: Envelope, data: SubscriptionExpired
    ) -> None:
        await _subscription(session, envelope, plan=data.plan, at=data.updated_at)

    async def _subscription(session: AsyncSession, envelope: Envelope, *, plan: str, at) -> None:
        tenant_id = envelope.tenantid
        if tenant_id is None:
            return
        await repo.set_plan(session, tenant_id=tenant_id, plan=plan, at=at)

        async def load() -> dict[str, Any] | None:
            return await public_api.get(
                "billing", "/api/v1/billing/subscription", tenant_id=tenant_id
            )

        await simple(session, envelope, "subscription.changed", load)

    @consumer.on(CreditsExhausted)
    async def on_credits_exhausted(
        session: AsyncSession, envelope: Envelope, data: CreditsExhausted
    ) -> None:
        tenant_id = envelope.tenantid or ""

        async def load() -> dict[str, Any] | None:
            return await public_api.get("billing", "/api/v1/billing/credits", tenant_id=tenant_id)

        await simple(session, envelope, "credits.exhausted", load)
