"""Webhook endpoints a team manages: create (the secret shown once), list with health,
change, delete, rotate the secret, send a test ping; the delivery log and redelivery; the
team's callback secret for per-request webhooks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from pingvas_kit.egress import UnsafeUrl, resolve_target

from ...adapters import repository as repo
from ...domain import webhooks as rules
from ...domain.errors import Invalid, NotFound
from .._context import Context
from ._fanout import stage_delivery


@dataclass(frozen=True)
class Actor:
    """Who changes a team's webhooks: a person (owner or admin) or an API key."""

    tenant_id: str
    principal_id: str
    kind: str  # user | api_key
    ip: str | None


@dataclass(frozen=True)
class EndpointView:
    row: sa.Row
    #: (deliveries made, attempts, attempts answered 2xx) in the last 24 hours
    stats: tuple[int, int, int]
    #: set only right after creation or rotation
    secret: str | None = None


class WebhookNotFound(NotFound):
    kind = "webhook_endpoint_not_found"


class DeliveryNotFound(NotFound):
    kind = "webhook_delivery_not_found"


async def check_url(ctx: Context, url: str) -> None:
    """Invalid (problem+json, with the field) unless webhooks may go to `url`."""
    settings = ctx.settings
    try:
        await resolve_target(
            url,
            allow_private=settings.webhook_allow_private,
            require_https=settings.webhook_require_https,
        )
    except UnsafeUrl as exc:
        raise Invalid(exc.message, code=exc.code, field="url") from None


def _check_types(event_types: list[str]) -> list[str]:
    unknown = rules.unknown_event_types(event_types)
    if unknown:
        raise Invalid(
            f"Unknown event types: {', '.join(unknown)}.",
            code="webhook_event_type_unknown",
            field="event_types",
        )
    if not event_types:
        raise Invalid(
            "Choose at least one event type.",
            code="webhook_event_types_empty",
            field="event_types",
        )
    return sorted(set(event_types))


async def _stats(ctx: Context, tenant_id: str) -> dict[str, tuple[int, int, int]]:
    async with ctx.db.sessionmaker() as session:
        return await repo.delivery_stats(
            session, tenant_id=tenant_id, since=repo.now() - timedelta(hours=24)
        )


async def _audit(session: Any, actor: Actor, action: str, endpoint_id: str, **details: Any):
    await repo.audit(
        session,
        tenant_id=actor.tenant_id,
        action=action,
        actor_id=actor.principal_id,
        actor_kind=actor.kind,
        target_type="webhook_endpoint",
        target_id=endpoint_id,
        ip=actor.ip,
        details=details or None,
    )


async def create_endpoint(
    ctx: Context,
    actor: Actor,
    *,
    url: str,
    event_types: list[str],
    description: str,
    enabled: bool,
) -> EndpointView:
    types = _check_types(event_types)
    await check_url(ctx, url)
    at = repo.now()
    endpoint_id = repo.new_id()
    secret = rules.new_secret()
    async with ctx.db.transaction() as session:
        await repo.insert_endpoint(
            session,
            id=endpoint_id,
            tenant_id=actor.tenant_id,
            url=url,
            event_types=types,
            description=description,
            enabled=enabled,
            disabled_reason=None if enabled else "manual",
            secret=secret,
            created_by=actor.principal_id,
            created_at=at,
            updated_at=at,
            consecutive_failures=0,
        )
        await _audit(session, actor, "webhook.created", endpoint_id, url=url, event_types=types)
        row = await repo.get_endpoint(session, tenant_id=actor.tenant_id, endpoint_id=endpoint_id)
    assert row is not None
    return EndpointView(row=row, stats=(0, 0, 0), secret=secret)


async def list_endpoints(ctx: Context, *, tenant_id: str) -> list[EndpointView]:
    stats = await _stats(ctx, tenant_id)
    async with ctx.db.sessionmaker() as session:
        rows = await repo.endpoints_of_tenant(session, tenant_id=tenant_id)
    return [EndpointView(row=r, stats=stats.get(r.id, (0, 0, 0))) for r in rows]


async def get_endpoint(ctx: Context, *, tenant_id: str, endpoint_id: str) -> EndpointView:
    async with ctx.db.sessionmaker() as session:
        row = await repo.get_endpoint(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
    if row is None:
        raise WebhookNotFound("No such webhook endpoint.")
    stats = await _stats(ctx, tenant_id)
    return EndpointView(row=row, stats=stats.get(row.id, (0, 0, 0)))


async def update_endpoint(
    ctx: Context, actor: Actor, *, endpoint_id: str, changes: dict[str, Any]
) -> EndpointView:
    """Change any of url, event_types, description, enabled. Enabling a disabled endpoint
    clears why it was disabled and its failure streak."""
    values: dict[str, Any] = {}
    if "event_types" in changes:
        values["event_types"] = _check_types(list(changes["event_types"]))
    if "url" in changes:
        await check_url(ctx, changes["url"])
        values["url"] = changes["url"]
    if "description" in changes:
        values["description"] = changes["description"]
    async with ctx.db.transaction() as session:
        row = await repo.get_endpoint(
            session, tenant_id=actor.tenant_id, endpoint_id=endpoint_id, for_update=True
        )
        if row is None:
            raise WebhookNotFound("No such webhook endpoint.")
        if "enabled" in changes and changes["enabled"] != row.enabled:
            if changes["enabled"]:
                values |= {
                    "enabled": True,
                    "disabled_reason": None,
                    "failing_since": None,
                    "consecutive_failures": 0,
                }
            else:
                values |= {"enabled": False, "disabled_reason": "manual"}
        if values:
            values["updated_at"] = repo.now()
            await repo.update_endpoint(
                session, tenant_id=actor.tenant_id, endpoint_id=endpoint_id, **values
            )
            await _audit(
                session,
                actor,
                "webhook.updated",
                endpoint_id,
                changed=sorted(k for k in values if k != "updated_at"),
            )
    return await get_endpoint(ctx, tenant_id=actor.tenant_id, endpoint_id=endpoint_id)


async def delete_endpoint(ctx: Context, actor: Actor, *, endpoint_id: str) -> None:
    async with ctx.db.transaction() as session:
        if not await repo.delete_endpoint(
            session, tenant_id=actor.tenant_id, endpoint_id=endpoint_id
        ):
            raise WebhookNotFound("No such webhook endpoint.")
        await _audit(session, actor, "webhook.deleted", endpoint_id)


async def rotate_secret(ctx: Context, actor: Actor, *, endpoint_id: str) -> EndpointView:
    """A new secret signs from now on; the current one keeps signing beside it for 24 hours
    (a second signature in the header), so receivers can switch without losing any."""
    at = repo.now()
    secret = rules.new_secret()
    async with ctx.db.transaction() as session:
        row = await repo.get_endpoint(
            session, tenant_id=actor.tenant_id, endpoint_id=endpoint_id, for_update=True
        )
        if row is None:
            raise WebhookNotFound("No such webhook endpoint.")
        await repo.update_endpoint(
            session,
            tenant_id=actor.tenant_id,
            endpoint_id=endpoint_id,
            secret=secret,
            previous_secret=row.secret,
            previous_secret_expires_at=at + rules.ROTATION_OVERLAP,
            updated_at=at,
        )
        await _audit(session, actor, "webhook.secret_rotated", endpoint_id)
    view = await get_endpoint(ctx, tenant_id=actor.tenant_id, endpoint_id=endpoint_id)
    return EndpointView(row=view.row, stats=view.stats, secret=secret)


async def send_test(ctx: Context, actor: Actor, *, endpoint_id: str) -> sa.Row:
    """A `ping` to the endpoint (enabled or not), through the same delivery path."""
    at = repo.now()
    async with ctx.db.transaction() as session:
        row = await repo.get_endpoint(session, tenant_id=actor.tenant_id, endpoint_id=endpoint_id)
        if row is None:
            raise WebhookNotFound("No such webhook endpoint.")
        delivery_id = await stage_delivery(
            session,
            tenant_id=actor.tenant_id,
            endpoint_id=endpoint_id,
            event_type=rules.PING,
            event_id="ping_" + repo.new_id(),
            data={"endpoint_id": endpoint_id, "message": "A test event from Pingvas."},
            at=at,
        )
        delivery = await repo.get_delivery(
            session, tenant_id=actor.tenant_id, delivery_id=delivery_id
        )
    ctx.wake_webhooks()
    assert delivery is not None
    return delivery


async def list_deliveries(
    ctx: Context,
    *,
    tenant_id: str,
    endpoint_id: str,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[sa.Row]:
    async with ctx.db.sessionmaker() as session:
        if await repo.get_endpoint(session, tenant_id=tenant_id, endpoint_id=endpoint_id) is None:
            raise WebhookNotFound("No such webhook endpoint.")
        return await repo.deliveries_of_endpoint(
            session, tenant_id=tenant_id, endpoint_id=endpoint_id, before=before, limit=limit
        )


async def get_delivery(
    ctx: Context, *, tenant_id: str, delivery_id: str
) -> tuple[sa.Row, list[sa.Row]]:
    async with ctx.db.sessionmaker() as session:
        row = await repo.get_delivery(session, tenant_id=tenant_id, delivery_id=delivery_id)
        if row is None:
            raise DeliveryNotFound("No such webhook delivery.")
        attempts = await repo.attempts_of(session, tenant_id=tenant_id, delivery_id=delivery_id)
    return row, attempts


async def redeliver(ctx: Context, actor: Actor, *, delivery_id: str) -> sa.Row:
    """Send the same message (same webhook-id, same body) again now, whatever its state."""
    at = repo.now()
    async with ctx.db.transaction() as session:
        if not await repo.requeue_delivery(
            session, tenant_id=actor.tenant_id, delivery_id=delivery_id, at=at
        ):
            raise DeliveryNotFound("No such webhook delivery.")
        row = await repo.get_delivery(session, tenant_id=actor.tenant_id, delivery_id=delivery_id)
        assert row is not None
        if row.endpoint_id:
            await _audit(session, actor, "webhook.redelivered", row.endpoint_id, delivery=row.id)
    ctx.wake_webhooks()
    return row


async def callback_secret(ctx: Context, *, tenant_id: str) -> str:
    """The team's secret for per-request webhooks, made on first use."""
    async with ctx.db.transaction() as session:
        row = await repo.get_callback_secret(session, tenant_id=tenant_id)
        if row is None:
            await repo.insert_callback_secret(
                session, tenant_id=tenant_id, secret=rules.new_secret(), created_at=repo.now()
            )
            row = await repo.get_callback_secret(session, tenant_id=tenant_id)
    assert row is not None
    return str(row.secret)


async def rotate_callback_secret(ctx: Context, actor: Actor) -> tuple[str, datetime]:
    await callback_secret(ctx, tenant_id=actor.tenant_id)
    at = repo.now()
    secret = rules.new_secret()
    expires = at + rules.ROTATION_OVERLAP
    async with ctx.db.transaction() as session:
        row = await repo.get_callback_secret(session, tenant_id=actor.tenant_id)
        assert row is not None
        await repo.update_callback_secret(
            session,
            tenant_id=actor.tenant_id,
            secret=secret,
            previous_secret=row.secret,
            previous_secret_expires_at=expires,
        )
        await repo.audit(
            session,
            tenant_id=actor.tenant_id,
            action="webhook.callback_secret_rotated",
            actor_id=actor.principal_id,
            actor_kind=actor.kind,
            ip=actor.ip,
        )
    return secret, expires
