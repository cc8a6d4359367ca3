"""Partner webhooks, the rules: event types, secrets, Standard Webhooks signatures, the
retry schedule, and what an attempt's answer means for the delivery and the endpoint.

A delivery is one message (one `webhook-id`, the same on every retry) to one endpoint. It
is tried at once, then after each delay of RETRY_SCHEDULE (with ±20% jitter), and gives up
after the last: 8 attempts over about 27.5 hours. Any 2xx delivers it. A 410 Gone disables
the endpoint at once (the receiver said it is gone for good). An endpoint that has failed
every delivery for FAILING_DISABLE_AFTER (5 days, and at least 3 attempts) is disabled too,
and its owners are told by mail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

#: what an endpoint can subscribe to, and what each means (the API lists them)
EVENT_TYPES: dict[str, str] = {
    "generation.completed": "A generation finished; data is the generation, with its image ids.",
    "generation.failed": "A generation failed for good; data is the generation, with its error.",
    "generation.cancelled": "A generation was cancelled; data is the generation.",
    "image.created": "An image was generated and stored; data is the image.",
    "image.deleted": "An image was deleted; data says which and why.",
    "subscription.changed": "The team's plan or subscription status changed; data is the "
    "subscription.",
    "credits.exhausted": "The team has no credits left; data is its credit balance.",
}
#: sent only by POST /endpoints/{id}/test, to whatever the endpoint subscribes to
PING = "ping"

#: per-request callbacks: what `webhook_events_filter` may name, and the types each covers
CALLBACK_FILTERS: dict[str, tuple[str, ...]] = {
    "started": ("generation.started",),
    "progress": ("generation.progress",),
    "completed": ("generation.completed", "generation.failed", "generation.cancelled"),
}

SECRET_PREFIX = "whsec_"
#: delays after the first attempt; 8 attempts in all, the last ~27.5 h after the first
RETRY_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.2
#: a rotated-out secret keeps signing (and so verifying) this long
ROTATION_OVERLAP = timedelta(hours=24)
FAILING_DISABLE_AFTER = timedelta(days=5)
FAILING_MIN_ATTEMPTS = 3
#: how much of an answer the delivery log keeps
LOGGED_ANSWER_BYTES = 1024

DeliveryStatus = Literal["pending", "delivered", "failed"]


def unknown_event_types(types: Iterable[str]) -> list[str]:
    return sorted(set(types) - set(EVENT_TYPES))


def new_secret() -> str:
    """`whsec_` and 32 random bytes in base64, as the Standard Webhooks libraries expect."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def message_id(endpoint_key: str, event_id: str) -> str:
    """The `webhook-id` of one event's delivery to one endpoint: derived, so that a
    redelivered event makes the same message (the receiver's idempotency key)."""
    digest = hashlib.sha256(f"{endpoint_key}\x00{event_id}".encode()).digest()
    return "msg_" + base64.b32encode(digest[:20]).decode().rstrip("=").lower()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,` signature: base64 HMAC-SHA256 over `id.timestamp.body`."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def signature_header(signing: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """`webhook-signature`: one signature per secret, space separated (the new one first)."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in signing)


def signing_secrets(
    current: str, previous: str | None, previous_expires_at: datetime | None, now: datetime
) -> list[str]:
    """The secrets that sign now: the current one, and the rotated-out one in its overlap."""
    if previous and previous_expires_at and now < previous_expires_at:
        return [current, previous]
    return [current]


def body_of(event_type: str, data: dict[str, Any], at: datetime) -> bytes:
    """What the receiver gets: the type, when it happened, and the public object."""
    envelope = {"type": event_type, "timestamp": _iso(at), "data": data}
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def next_delay(
    attempts_made: int,
    *,
    schedule: Sequence[float] = RETRY_SCHEDULE,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds until the next attempt after `attempts_made` failed ones; None: give up."""
    if attempts_made < 1 or attempts_made > len(schedule):
        return None
    base = schedule[attempts_made - 1]
    spread = (rng or random).uniform(-JITTER, JITTER)
    return max(base * (1 + spread), 0.0)


@dataclass(frozen=True)
class Outcome:
    """What one attempt decided."""

    delivered: bool
    #: the endpoint must be disabled, and why ("gone")
    disable: str | None
    retry_in: float | None


def judge(
    status_code: int | None,
    attempts_made: int,
    *,
    schedule: Sequence[float] = RETRY_SCHEDULE,
    rng: random.Random | None = None,
) -> Outcome:
    """The delivery's fate after its `attempts_made`-th attempt answered `status_code`
    (None: no answer)."""
    if status_code is not None and 200 <= status_code < 300:
        return Outcome(delivered=True, disable=None, retry_in=None)
    if status_code == 410:
        return Outcome(delivered=False, disable="gone", retry_in=None)
    return Outcome(
        delivered=False,
        disable=None,
        retry_in=next_delay(attempts_made, schedule=schedule, rng=rng),
    )


def failing_too_long(
    failing_since: datetime | None,
    consecutive_failures: int,
    now: datetime,
    *,
    after: timedelta = FAILING_DISABLE_AFTER,
) -> bool:
    """True when the endpoint has failed every attempt for `after` (and at least a few)."""
    return (
        failing_since is not None
        and consecutive_failures >= FAILING_MIN_ATTEMPTS
        and now - failing_since >= after
    )


HealthStatus = Literal["new", "healthy", "failing", "disabled"]


def health_status(
    enabled: bool, last_attempt_at: datetime | None, consecutive_failures: int
) -> HealthStatus:
    if not enabled:
        return "disabled"
    if last_attempt_at is None:
        return "new"
    return "failing" if consecutive_failures > 0 else "healthy"


def answer_excerpt(body: bytes) -> str:
    """The first bytes of an answer, as text, for the delivery log."""
    return body[:LOGGED_ANSWER_BYTES].decode("utf-8", errors="replace")
