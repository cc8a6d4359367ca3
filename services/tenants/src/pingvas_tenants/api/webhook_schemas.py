"""Request and response bodies of the webhooks API (docs/webhooks.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool
from pydantic.json_schema import JsonDict

from ..domain.webhooks import DeliveryStatus, HealthStatus

EventType = Literal[
    "generation.completed",
    "generation.failed",
    "generation.cancelled",
    "image.created",
    "image.deleted",
    "subscription.changed",
    "credits.exhausted",
]
WebhookUrl = str
#: an absolute http(s) URL, no user name or password, no #fragment (kit.egress.check_syntax,
#: which answers webhook_url_invalid); its host must resolve too (webhook_url_unresolvable)
WEBHOOK_URL_PATTERN: JsonDict = {"pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@\s]+([/?][^#]*)?$"}


class EventTypeOut(BaseModel):
    type: str = Field(description="the event type an endpoint subscribes to")
    description: str


class EventTypeList(BaseModel):
    items: list[EventTypeOut]


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: WebhookUrl = Field(
        min_length=8,
        max_length=2048,
        description="where to POST; https in production, never a private address",
        examples=["https://partner.example.com/pingvas/webhooks"],
        json_schema_extra=WEBHOOK_URL_PATTERN,
    )
    event_types: list[EventType] = Field(min_length=1, description="the events it wants")
    description: str = Field(default="", max_length=500)
    enabled: StrictBool = True


class EndpointPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: WebhookUrl | None = Field(
        default=None, min_length=8, max_length=2048, json_schema_extra=WEBHOOK_URL_PATTERN
    )
    event_types: list[EventType] | None = Field(default=None, min_length=1)
    description: str | None = Field(default=None, max_length=500)
    enabled: StrictBool | None = Field(
        default=None, description="true enables a disabled endpoint again (its streak cleared)"
    )


class Health(BaseModel):
    status: HealthStatus
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    consecutive_failures: int
    deliveries_24h: int
    success_rate_24h: float | None = Field(
        description="share of the last 24 hours' attempts answered 2xx; null without attempts"
    )


class EndpointOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    disabled_reason: Literal["gone", "failing", "manual"] | None = Field(
        description="gone: it answered 410; failing: every delivery failed for 5 days"
    )
    created_at: datetime
    updated_at: datetime
    previous_secret_expires_at: datetime | None = Field(
        description="after a rotation: until then the old secret signs too"
    )
    health: Health


class EndpointWithSecret(EndpointOut):
    secret: str = Field(
        description="the signing secret (whsec_...): shown only in this answer",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class EndpointList(BaseModel):
    items: list[EndpointOut]


class DeliveryOut(BaseModel):
    id: str = Field(description="the webhook-id header: the same on every retry")
    endpoint_id: str | None
    event_type: str
    status: DeliveryStatus = Field(description="failed: no more retries")
    attempt_count: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    last_status_code: int | None
    payload: dict[str, Any] = Field(description="the body sent: type, timestamp, data")


class AttemptOut(BaseModel):
    number: int
    attempted_at: datetime
    status_code: int | None = Field(description="null: no answer (see error)")
    latency_ms: int
    error: str | None
    response_body: str = Field(description="the first KiB of the answer")


class DeliveryDetail(DeliveryOut):
    attempts: list[AttemptOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


class CallbackSecretOut(BaseModel):
    secret: str = Field(description="signs the per-request webhooks of POST /generations")
    previous_secret_expires_at: datetime | None = None
