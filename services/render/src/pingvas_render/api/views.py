"""Rows to response bodies, and opaque cursors for newest-first pagination."""

from __future__ import annotations

import base64
from datetime import datetime

import sqlalchemy as sa

from pingvas_kit.problems import INVALID_CURSOR

from ..adapters import repository as repo
from ..domain.errors import Invalid
from .schemas import JobError, JobOut

#: users see a dispatched job as queued: it has not started yet
SHOWN_STATUS = {"dispatched": "queued"}


def job_out(row: sa.Row, *, queue_position: int | None, progress: float | None) -> JobOut:
    if row.status == "completed":
        shown_progress = 1.0
    elif row.status == "running":
        shown_progress = progress or 0.0
    else:
        shown_progress = 0.0
    return JobOut(
        id=row.id,
        status=SHOWN_STATUS.get(row.status, row.status),
        request=dict(row.request),
        seed=row.seed,
        credits_reserved=row.credits_reserved,
        credits_used=row.credits_used,
        queue_position=queue_position if row.status in repo.WAITING else None,
        progress=shown_progress,
        image_ids=list(row.image_ids) if row.status == "completed" else [],
        error=(
            JobError(code=row.error_code, reason=row.error_reason or "")
            if row.status == "failed" and row.error_code
            else None
        ),
        attempts=row.attempts,
        cancel_requested=bool(row.cancel_requested) and row.status == "running",
        created_at=repo.aware(row.created_at),
        started_at=repo.aware(row.started_at),
        finished_at=repo.aware(row.finished_at),
        webhook=row.callback["url"] if row.callback else None,
        webhook_events_filter=list(row.callback["events"]) if row.callback else None,
    )


def encode_cursor(row: sa.Row) -> str:
    raw = f"{repo.aware(row.created_at).isoformat()}|{row.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, row_id = raw.split("|", 1)
        return datetime.fromisoformat(at), row_id
    except ValueError:
        raise Invalid(
            [
                {
                    "field": "cursor",
                    "message": "Not a cursor this API gave out.",
                    "code": INVALID_CURSOR,
                }
            ]
        ) from None
