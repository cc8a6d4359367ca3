"""W3C trace context carried from HTTP requests and incoming events to outgoing events."""

from __future__ import annotations

import secrets
from contextvars import ContextVar

from pingvas_contracts import new_traceparent
from pingvas_contracts.envelope import TRACEPARENT_PATTERN

current_traceparent: ContextVar[str | None] = ContextVar("pingvas_traceparent", default=None)


def child_of(parent: str | None) -> str:
    """A new span in the parent's trace, or a new trace when there is no valid parent."""
    if parent and TRACEPARENT_PATTERN.match(parent):
        _version, trace_id, _span, flags = parent.split("-")
        return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"
    return new_traceparent()


def trace_id_of(traceparent: str | None) -> str | None:
    return traceparent.split("-")[1] if traceparent else None
