"""OpenSearch's cursors: the shared codec (`engine/cursors.py`) around `search_after`.

The position a cursor carries is the last hit's sort values: `[score, created_at,
image_id]` for relevance, `[created_at, image_id]` for newest (created_at as epoch
nanoseconds, or a date string). Anything else is refused before OpenSearch sees it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..base import ImageQuery, Sort
from ..cursors import decode_cursor as _decode
from ..cursors import encode_cursor as _encode
from ..cursors import is_int, query_fingerprint

__all__ = ["decode_cursor", "encode_cursor", "query_fingerprint"]


def _is_sort_date(v: Any) -> bool:
    """created_at's sort value: epoch nanoseconds (or a date string)."""
    return is_int(v) or (isinstance(v, str) and len(v) <= 64)


def _sort_values_fit(sort: Sort, after: list[Any]) -> bool:
    if sort == "relevance":
        return (
            len(after) == 3
            and (is_int(after[0]) or isinstance(after[0], float))
            and _is_sort_date(after[1])
            and isinstance(after[2], str)
        )
    return len(after) == 2 and _is_sort_date(after[0]) and isinstance(after[1], str)


def encode_cursor(query: ImageQuery, sort_values: Sequence[Any]) -> str:
    return _encode(query, sort_values)


def decode_cursor(cursor: str, query: ImageQuery) -> list[Any]:
    """The `search_after` values of a cursor issued for this very query (and tenant)."""
    return _decode(cursor, query, _sort_values_fit)
