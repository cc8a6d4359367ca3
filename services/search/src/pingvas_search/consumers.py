"""What search does with each event it consumes (docs/search.md, "Tables").

Engine writes happen inside the handler's transaction, before the inbox row commits: if
the write fails, the transaction rolls back and the bus redelivers; if the commit fails
after the write, the redelivery repeats an idempotent write. `image_state` makes the
order of `image.created` and `image.deleted` irrelevant."""

from __future__ import annotations

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts import Envelope
from pingvas_contracts.events.billing import (
    SubscriptionActivated,
    SubscriptionCancelled,
    SubscriptionChanged,
    SubscriptionExpired,
)
from pingvas_contracts.events.render import ImageCreated, ImageDeleted
from pingvas_contracts.events.tenants import TenantCreated, TenantDeleted
from pingvas_kit.inbox import EventConsumer
from pingvas_kit.logging import get_logger

from .adapters import repository as repo
from .engine import ImageDoc, SearchEngine

log = get_logger("pingvas.search.consumers")

INDEXED = Counter("pingvas_search_index_writes_total", "Engine writes by the consumers", ["op"])
DROPPED = Counter(
    "pingvas_search_images_dropped_total",
    "image.created events not indexed (image or tenant already deleted)",
)

SubscriptionState = (
    SubscriptionActivated | SubscriptionChanged | SubscriptionCancelled | SubscriptionExpired
)


def doc_from_event(tenant_id: str, data: ImageCreated) -> ImageDoc:
    return ImageDoc(
        tenant_id=tenant_id,
        image_id=data.image_id,
        job_id=data.job_id,
        user_id=data.user_id,
        api_key_id=data.api_key_id,
        index=data.index,
        prompt=data.prompt,
        negative_prompt=data.negative_prompt,
        model=data.model,
        width=data.width,
        height=data.height,
        seed=data.seed,
        steps=data.steps,
        cfg_scale=data.cfg_scale,
        scheduler=data.scheduler,
        png_key=data.png_key,
        thumbnail_key=data.thumbnail_key,
        size_bytes=data.size_bytes,
        created_at=data.created_at,
    )


def _tenant(event: Envelope) -> str:
    if not event.tenantid:
        raise ValueError(f"{event.type} {event.id} has no tenantid")
    return event.tenantid


def register(consumer: EventConsumer, engine: SearchEngine) -> None:
    @consumer.on(ImageCreated)
    async def image_created(session: AsyncSession, event: Envelope, data: ImageCreated) -> None:
        tenant_id = _tenant(event)
        if await repo.is_tenant_deleted(session, tenant_id):
            await repo.bury(session, tenant_id=tenant_id, image_id=data.image_id)
            DROPPED.inc()
            return
        if not await repo.claim_live(session, tenant_id=tenant_id, image_id=data.image_id):
            DROPPED.inc()
            log.info("search.image_already_deleted", image_id=data.image_id)
            return
        await engine.upsert([doc_from_event(tenant_id, data)])
        INDEXED.labels("upsert").inc()

    @consumer.on(ImageDeleted)
    async def image_deleted(session: AsyncSession, event: Envelope, data: ImageDeleted) -> None:
        tenant_id = _tenant(event)
        await repo.bury(session, tenant_id=tenant_id, image_id=data.image_id)
        await engine.delete(tenant_id, [data.image_id])
        INDEXED.labels("delete").inc()

    @consumer.on(TenantCreated)
    async def tenant_created(session: AsyncSession, event: Envelope, data: TenantCreated) -> None:
        await repo.tenant_created(session, tenant_id=_tenant(event), data=data)

    @consumer.on(TenantDeleted)
    async def tenant_deleted(session: AsyncSession, event: Envelope, data: TenantDeleted) -> None:
        tenant_id = _tenant(event)
        await repo.tenant_deleted(session, tenant_id=tenant_id, data=data)
        buried = await repo.bury_tenant(session, tenant_id=tenant_id)
        await engine.delete_tenant(tenant_id)
        INDEXED.labels("delete_tenant").inc()
        log.info("search.tenant_purged", images=buried)

    @consumer.on(
        SubscriptionActivated, SubscriptionChanged, SubscriptionCancelled, SubscriptionExpired
    )
    async def subscription(session: AsyncSession, event: Envelope, data: SubscriptionState) -> None:
        applied = await repo.subscription_state(
            session, tenant_id=_tenant(event), data=data, at=event.time
        )
        if not applied:
            log.info("search.stale_subscription_state", updated_at=str(data.updated_at))
