"""What every query module shares: ids, the clock, stored times read back as aware ones."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa

from pingvas_kit.db import aware, new_id, now

__all__ = ["aware", "inserted", "new_id", "now", "rowcount"]


def inserted(row: sa.Row | None) -> sa.Row:
    """The row just inserted, read back in the same transaction: it cannot be missing."""
    if row is None:
        raise RuntimeError("a row inserted in this transaction is not there")
    return row


def rowcount(result: sa.Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched (its result is a cursor result at run time)."""
    return cast("sa.CursorResult[Any]", result).rowcount
