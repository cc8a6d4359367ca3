"""Partner webhooks: the endpoints a team registers, their delivery log, redelivery, a test
ping, and the team's secret for per-request callbacks (docs/webhooks.md). Owners and
admins; API keys with the `webhooks:write` scope."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Response

from pingvas_kit.identity import Identity, TenantIdentity
from pingvas_kit.problems import ROLE_REQUIRED, SCOPE_MISSING, problem_responses

from ..adapters import repository as repo
from ..domain import webhooks as rules
from ..domain.errors import Forbidden, Invalid
from ..domain.roles import at_least
from ..usecases import webhooks
from .deps import Ctx
from .webhook_schemas import (
    AttemptOut,
    CallbackSecretOut,
    DeliveryDetail,
    DeliveryOut,
    DeliveryPage,
    EndpointIn,
    EndpointList,
    EndpointOut,
    EndpointPatch,
    EndpointWithSecret,
    EventTypeList,
    EventTypeOut,
    Health,
)

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
SCOPE = "webhooks:write"


async def _manager(identity: TenantIdentity, ctx: Ctx) -> webhooks.Actor:
    """An owner or admin of the team (checked against the database), or a key with the
    scope."""
    assert identity.tenant_id is not None
    if identity.kind == "api_key":
        if not identity.has_scope(SCOPE):
            raise Forbidden(f"This API key lacks the {SCOPE} scope.", code=SCOPE_MISSING)
    else:
        async with ctx.db.sessionmaker() as session:
            row = await repo.get_membership(
                session, tenant_id=identity.tenant_id, user_id=identity.principal_id
            )
        if row is None or not at_least(row.role, "admin") or not identity.has_role("admin"):
            raise Forbidden(
                "Webhooks are managed by the team's owners and admins.", code=ROLE_REQUIRED
            )
    return _actor(identity)


def _actor(identity: Identity) -> webhooks.Actor:
    assert identity.tenant_id is not None
    return webhooks.Actor(
        tenant_id=identity.tenant_id,
        principal_id=identity.principal_id,
        kind=identity.kind,
        ip=identity.client_ip,
    )


Manager = Annotated[webhooks.Actor, Depends(_manager)]


def _endpoint(view: webhooks.EndpointView) -> EndpointOut:
    row = view.row
    made, tried, ok = view.stats
    return EndpointOut(
        id=row.id,
        url=row.url,
        event_types=list(row.event_types),
        description=row.description,
        enabled=row.enabled,
        disabled_reason=row.disabled_reason,
        created_at=repo.aware(row.created_at),
        updated_at=repo.aware(row.updated_at),
        previous_secret_expires_at=_overlap(row.previous_secret_expires_at),
        health=Health(
            status=rules.health_status(row.enabled, row.last_attempt_at, row.consecutive_failures),
            last_attempt_at=repo.aware(row.last_attempt_at),
            last_success_at=repo.aware(row.last_success_at),
            consecutive_failures=row.consecutive_failures,
            deliveries_24h=made,
            success_rate_24h=round(ok / tried, 4) if tried else None,
        ),
    )


def _overlap(at: datetime | None) -> datetime | None:
    at = repo.aware(at)
    return at if at is not None and at > repo.now() else None


def _with_secret(view: webhooks.EndpointView) -> EndpointWithSecret:
    assert view.secret is not None
    return EndpointWithSecret(**_endpoint(view).model_dump(), secret=view.secret)


def _delivery(row: sa.Row) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        endpoint_id=row.endpoint_id,
        event_type=row.event_type,
        status=row.status,
        attempt_count=row.attempt_count,
        next_attempt_at=repo.aware(row.next_attempt_at) if row.status == "pending" else None,
        created_at=repo.aware(row.created_at),
        delivered_at=repo.aware(row.delivered_at),
        last_status_code=row.last_status_code,
        payload=json.loads(row.body),
    )


def _encode_cursor(row: sa.Row) -> str:
    raw = json.dumps([repo.aware(row.created_at).isoformat(), row.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, last_id = json.loads(raw)
        return datetime.fromisoformat(at), str(last_id)
    except (ValueError, TypeError):
        raise Invalid(
            "The cursor is not one this API gave.", code="invalid_cursor", field="cursor"
        ) from None


@router.get("/event-types", summary="List the event types", responses=problem_responses(403))
async def list_event_types(_me: Manager) -> EventTypeList:
    """The event types an endpoint can subscribe to, and what each one's `data` is. A
    `ping` (from the test action) goes to every endpoint whatever it subscribes to."""
    return EventTypeList(
        items=[EventTypeOut(type=t, description=d) for t, d in rules.EVENT_TYPES.items()]
    )


@router.post(
    "/endpoints",
    status_code=201,
    summary="Create a webhook endpoint",
    responses=problem_responses(403, 422),
)
async def create_endpoint(body: EndpointIn, me: Manager, ctx: Ctx) -> EndpointWithSecret:
    """Registers a URL for the chosen event types and answers its signing secret
    (`whsec_...`), shown only here. The URL must be https in production and resolve to a
    public address (`webhook_url_forbidden` otherwise)."""
    view = await webhooks.create_endpoint(
        ctx,
        me,
        url=body.url,
        event_types=list(body.event_types),
        description=body.description,
        enabled=body.enabled,
    )
    return _with_secret(view)


@router.get("/endpoints", summary="List webhook endpoints", responses=problem_responses(403))
async def list_endpoints(me: Manager, ctx: Ctx) -> EndpointList:
    """The team's endpoints with their health over the last 24 hours (never their
    secrets)."""
    views = await webhooks.list_endpoints(ctx, tenant_id=me.tenant_id)
    return EndpointList(items=[_endpoint(v) for v in views])


@router.get(
    "/endpoints/{endpoint_id}",
    summary="Get a webhook endpoint",
    responses=problem_responses(403, 404),
)
async def get_endpoint(endpoint_id: str, me: Manager, ctx: Ctx) -> EndpointOut:
    """One endpoint and its health."""
    return _endpoint(
        await webhooks.get_endpoint(ctx, tenant_id=me.tenant_id, endpoint_id=endpoint_id)
    )


@router.patch(
    "/endpoints/{endpoint_id}",
    summary="Change a webhook endpoint",
    responses=problem_responses(403, 404, 422),
)
async def update_endpoint(
    endpoint_id: str, body: EndpointPatch, me: Manager, ctx: Ctx
) -> EndpointOut:
    """Changes the URL, event types, description or enabled state; `enabled: true` on a
    disabled endpoint starts sending again (new events only; redeliver old ones)."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    return _endpoint(
        await webhooks.update_endpoint(ctx, me, endpoint_id=endpoint_id, changes=changes)
    )


@router.delete(
    "/endpoints/{endpoint_id}",
    status_code=204,
    summary="Delete a webhook endpoint",
    responses=problem_responses(403, 404),
)
async def delete_endpoint(endpoint_id: str, me: Manager, ctx: Ctx) -> Response:
    """Deletes the endpoint with its delivery log; nothing more is sent to it."""
    await webhooks.delete_endpoint(ctx, me, endpoint_id=endpoint_id)
    return Response(status_code=204)


@router.post(
    "/endpoints/{endpoint_id}/rotate-secret",
    summary="Rotate the signing secret",
    responses=problem_responses(403, 404),
)
async def rotate_secret(endpoint_id: str, me: Manager, ctx: Ctx) -> EndpointWithSecret:
    """Answers a new secret (shown only here). For 24 hours both the new and the old secret
    sign every delivery (two signatures in `webhook-signature`), so a receiver can switch
    without missing one; after that only the new one signs."""
    return _with_secret(await webhooks.rotate_secret(ctx, me, endpoint_id=endpoint_id))


@router.post(
    "/endpoints/{endpoint_id}/test",
    status_code=202,
    summary="Send a test event",
    responses=problem_responses(403, 404),
)
async def send_test(endpoint_id: str, me: Manager, ctx: Ctx) -> DeliveryOut:
    """Sends a `ping` to the endpoint now, signed like every delivery; follow it in the
    delivery log."""
    return _delivery(await webhooks.send_test(ctx, me, endpoint_id=endpoint_id))


@router.get(
    "/endpoints/{endpoint_id}/deliveries",
    summary="List an endpoint's deliveries",
    responses=problem_responses(403, 404, 422),
)
async def list_deliveries(
    endpoint_id: str,
    me: Manager,
    ctx: Ctx,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DeliveryPage:
    """The delivery log, newest first: each message, its state and when it is tried next."""
    rows = await webhooks.list_deliveries(
        ctx,
        tenant_id=me.tenant_id,
        endpoint_id=endpoint_id,
        before=_decode_cursor(cursor),
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return DeliveryPage(
        items=[_delivery(r) for r in rows],
        next_cursor=_encode_cursor(rows[-1]) if more and rows else None,
    )


@router.get(
    "/deliveries/{delivery_id}",
    summary="Get a delivery and its attempts",
    responses=problem_responses(403, 404),
)
async def get_delivery(delivery_id: str, me: Manager, ctx: Ctx) -> DeliveryDetail:
    """One message with every attempt: when, the answer's status, how long it took, and the
    first KiB of what the receiver said."""
    row, attempts = await webhooks.get_delivery(
        ctx, tenant_id=me.tenant_id, delivery_id=delivery_id
    )
    return DeliveryDetail(
        **_delivery(row).model_dump(),
        attempts=[
            AttemptOut(
                number=a.number,
                attempted_at=repo.aware(a.attempted_at),
                status_code=a.status_code,
                latency_ms=a.latency_ms,
                error=a.error,
                response_body=a.response_body,
            )
            for a in attempts
        ],
    )


@router.post(
    "/deliveries/{delivery_id}/redeliver",
    status_code=202,
    summary="Redeliver",
    responses=problem_responses(403, 404),
)
async def redeliver(delivery_id: str, me: Manager, ctx: Ctx) -> DeliveryOut:
    """Sends the same message (same `webhook-id`, same body) again now, whatever its
    state; the receiver's deduplication by webhook-id still holds."""
    return _delivery(await webhooks.redeliver(ctx, me, delivery_id=delivery_id))


@router.get("/callback-secret", summary="Get the callback secret", responses=problem_responses(403))
async def get_callback_secret(me: Manager, ctx: Ctx) -> CallbackSecretOut:
    """The team's secret that signs per-request webhooks (`webhook` on POST
    /api/v1/generations), made on first use."""
    return CallbackSecretOut(secret=await webhooks.callback_secret(ctx, tenant_id=me.tenant_id))


@router.post(
    "/callback-secret/rotate",
    summary="Rotate the callback secret",
    responses=problem_responses(403),
)
async def rotate_callback_secret(me: Manager, ctx: Ctx) -> CallbackSecretOut:
    """A new callback secret; the old one keeps signing beside it for 24 hours."""
    secret, expires = await webhooks.rotate_callback_secret(ctx, me)
    return CallbackSecretOut(secret=secret, previous_secret_expires_at=expires)
