"""The one cursor codec of both engines: a page's position, bound to its query.

A cursor is URL-safe base64 (unpadded) of the JSON `{"a": [...], "q": "<fingerprint>"}`:
`a` the engine's position after the page's last hit (OpenSearch: its `search_after`
sort values; embedded: a keyset or an offset), `q` a short hash of everything the page
depends on except the limit: the tenant, the words (as `query_words` reads them), the
model, the time range and the effective sort. So a cursor of another tenant, of other
words or filters, or of the other sort is refused (`InvalidCursor`), and the page size
may change between pages.

Decoding is strict: a cursor longer than `MAX_CURSOR_CHARS`, anything that is not
unpadded URL-safe base64 of a JSON object of that shape, or a position the engine's
`accepts` does not take for the effective sort is "not a cursor" (`InvalidCursor`).
Neither engine trusts a cursor beyond that: its values only ever become bound
parameters (SQLite) or `search_after` values (OpenSearch).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from .base import ImageQuery, InvalidCursor, Sort, clean_text

#: a cursor longer than this is not one of ours
MAX_CURSOR_CHARS = 2048

#: whether a position (`a`) is one the engine issues for that sort
Accepts = Callable[[Sort, list[Any]], bool]


def query_words(text: str) -> list[str]:
    """What the user typed, as both engines match it: markers removed, split at
    whitespace, each word once (every word must match anyway), in the order typed."""
    return list(dict.fromkeys(clean_text(text).split()))


def effective_sort(query: ImageQuery) -> Sort:
    """With no word to match, results are newest first whatever was asked."""
    return query.sort if query_words(query.text) else "newest"


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def query_fingerprint(query: ImageQuery) -> str:
    """A short hash of what a page depends on (not the limit): a cursor carries it."""
    parts = [
        query.tenant_id,
        " ".join(query_words(query.text)),
        query.model or "",
        _iso(query.since) if query.since else "",
        _iso(query.until) if query.until else "",
        effective_sort(query),
    ]
    digest = hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def encode_cursor(query: ImageQuery, after: Sequence[Any]) -> str:
    """The cursor of the page of `query` that follows the position `after`."""
    payload = json.dumps({"a": list(after), "q": query_fingerprint(query)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str, query: ImageQuery, accepts: Accepts) -> list[Any]:
    """The position a cursor issued for this very query (and tenant) carries."""
    if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidCursor("not a cursor")
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        data = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursor("not a cursor") from None
    if not isinstance(data, dict) or not isinstance(data.get("a"), list):
        raise InvalidCursor("not a cursor")
    if data.get("q") != query_fingerprint(query):
        raise InvalidCursor("a cursor of another query")
    after: list[Any] = data["a"]
    if not accepts(effective_sort(query), after):
        raise InvalidCursor("not a cursor")
    return after


def is_int(value: Any) -> bool:
    """An integer position value (JSON `true` is no integer)."""
    return isinstance(value, int) and not isinstance(value, bool)
