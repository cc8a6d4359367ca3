"""What the sync and the async clients share: settings, retry decisions, the SSE parser."""

from __future__ import annotations

import email.utils
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
API = "/api/v1"
#: the events after which a generation's stream ends
TERMINAL_EVENTS = frozenset({"completed", "failed", "cancelled"})
#: never wait longer than this for one retry, whatever Retry-After says
MAX_RETRY_AFTER_S = 120.0


def api_key_from_env(api_key: str | None) -> str | None:
    return api_key if api_key is not None else os.environ.get("PINGVAS_API_KEY")


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def default_headers(api_key: str | None, extra: dict[str, str] | None) -> dict[str, str]:
    headers = {"Accept": "application/json", "User-Agent": "pingvas-client-python/0.1.0"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    headers.update(extra or {})
    return headers


def retryable(status: int) -> bool:
    """429 (slow down) and the 5xx answers (the server or a proxy failing) are tried again;
    every other error is the request's own and would fail the same way again."""
    return status == 429 or status >= 500


def retry_after(response: httpx.Response | None, now: float | None = None) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date), or None."""
    if response is None:
        return None
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off: base * 2**attempt, at most `cap` seconds; Retry-After wins."""

    base: float = 0.5
    cap: float = 30.0

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        told = retry_after(response)
        if told is not None:
            return min(told, MAX_RETRY_AFTER_S)
        return min(self.base * (2**attempt), self.cap)


@dataclass(frozen=True)
class ServerEvent:
    """One server-sent event of a generation: `event` is queued, started, progress,
    completed, failed or cancelled; `data` its JSON payload; `id` what Last-Event-ID resumes
    after."""

    id: str
    event: str
    data: Any

    @property
    def terminal(self) -> bool:
        return self.event in TERMINAL_EVENTS


@dataclass
class SSEParser:
    """Lines of a text/event-stream in, events out (the WHATWG rules that matter here)."""

    last_event_id: str = ""
    retry_ms: int | None = None
    _event: str = ""
    _data: list[str] = field(default_factory=list)
    #: an id line counts once its event is complete (the blank line)
    _id: str | None = None

    def restart(self) -> None:
        """A new connection: a half-received event of the last one is dropped (its id was not
        seen either, so Last-Event-ID asks for it again)."""
        self._event, self._data, self._id = "", [], None

    def feed(self, line: str) -> ServerEvent | None:
        if line == "":
            if self._id is not None:
                self.last_event_id, self._id = self._id, None
            if not self._data:
                self._event = ""
                return None
            raw = "\n".join(self._data)
            event = ServerEvent(self.last_event_id, self._event or "message", _json(raw))
            self._event, self._data = "", []
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None


def _json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def clean(params: dict[str, Any]) -> dict[str, Any]:
    """Query parameters without the ones left out."""
    return {k: v for k, v in params.items() if v is not None}
