"""The embedded engine's cursors: the shared codec (`engine/cursors.py`) around its
positions.

Newest pages are keyset cursors, `[created_us, image_id]` of the last row; relevance
pages (bm25 ranks are not stored, so there is no key to seek to) are offset cursors,
`[offset]`, 0 < offset <= 10**9. Anything else is refused before SQLite sees it, and
what is accepted only ever becomes bound parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..base import ImageQuery, Sort
from ..cursors import decode_cursor as _decode
from ..cursors import encode_cursor as _encode
from ..cursors import is_int

MAX_OFFSET = 10**9


def _position_fits(sort: Sort, after: list[Any]) -> bool:
    if sort == "newest":
        return len(after) == 2 and is_int(after[0]) and isinstance(after[1], str)
    return len(after) == 1 and is_int(after[0]) and 0 < after[0] <= MAX_OFFSET


def encode_cursor(query: ImageQuery, position: Sequence[Any]) -> str:
    return _encode(query, position)


def decode_cursor(cursor: str, query: ImageQuery) -> list[Any]:
    """The position of a cursor issued for this very query (and tenant)."""
    return _decode(cursor, query, _position_fits)
