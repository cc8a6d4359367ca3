"""From an event to deliveries: one per subscribed endpoint (and one to the job's own
callback), staged in the consumer's transaction with the inbox row, so an event is turned
into deliveries exactly once even when the bus delivers it twice; the delivery id is
derived from the endpoint and the event, so even a replay past the inbox adds nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ...adapters import repository as repo
from ...domain import webhooks as rules

Loader = Callable[[], Awaitable[dict[str, Any] | None]]


async def stage_delivery(
    session: AsyncSession,
    *,
    tenant_id: str,
    event_type: str,
    event_id: str,
    data: dict[str, Any],
    at: datetime,
    endpoint_id: str | None = None,
    callback_url: str | None = None,
) -> str:
    """The delivery's id (webhook-id); an existing one is left as it is."""
    key = endpoint_id or f"callback:{tenant_id}:{callback_url}"
    delivery_id = rules.message_id(key, f"{event_id}:{event_type}")
    await repo.insert_delivery(
        session,
        id=delivery_id,
        tenant_id=tenant_id,
        endpoint_id=endpoint_id,
        callback_url=callback_url,
        event_type=event_type,
        event_id=event_id,
        body=rules.body_of(event_type, data, at).decode(),
        status="pending",
        attempt_count=0,
        next_attempt_at=repo.now(),
        created_at=repo.now(),
    )
    return delivery_id


async def fan_out(
    session: AsyncSession,
    *,
    tenant_id: str,
    event_type: str,
    event_id: str,
    at: datetime,
    load: Loader,
) -> int:
    """Stage `event_type` for each endpoint of the tenant that wants it; `load` reads the
    public object, only when some endpoint wants it. The number of deliveries staged."""
    endpoints = await repo.subscribed_endpoints(session, tenant_id=tenant_id, event_type=event_type)
    if not endpoints:
        return 0
    data = await load()
    if data is None:  # the object is gone already (deleted meanwhile): nothing to say
        return 0
    for endpoint in endpoints:
        await stage_delivery(
            session,
            tenant_id=tenant_id,
            endpoint_id=endpoint.id,
            event_type=event_type,
            event_id=event_id,
            data=data,
            at=at,
        )
    return len(endpoints)


async def to_callback(
    session: AsyncSession,
    *,
    tenant_id: str,
    url: str,
    event_type: str,
    event_id: str,
    at: datetime,
    load: Loader,
) -> bool:
    data = await load()
    if data is None:
        return False
    await stage_delivery(
        session,
        tenant_id=tenant_id,
        callback_url=url,
        event_type=event_type,
        event_id=event_id,
        data=data,
        at=at,
    )
    return True
