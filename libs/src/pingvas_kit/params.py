"""Request values whose OpenAPI schema says everything they accept.

Pydantic's lax mode reads a datetime from a bare number (Unix seconds): `?to=0.5` would be
1970, though the schema says `format: date-time`. IsoDateTime takes the ISO 8601 text the
schema promises and refuses the rest (422)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator


def _iso_text(value: Any) -> Any:
    if isinstance(value, int | float) or (
        isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit()
    ):
        raise ValueError("use an ISO 8601 time (2026-11-26T09:30:00Z)")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text)]
