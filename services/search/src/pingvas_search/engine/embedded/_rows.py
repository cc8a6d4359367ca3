"""An ImageDoc as a row of `docs_gN` and back.

`created_us` is microseconds since the epoch (UTC), so rows sort by it; the column
order of `DOC_COLUMNS` is the order of `doc_row` and `doc_from_row` (the row's
`spans` column comes last in `doc_row` and is not read back).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ..base import ImageDoc

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

DOC_COLUMNS = (
    "image_id",
    "tenant_id",
    "job_id",
    "user_id",
    "api_key_id",
    "idx",
    "prompt",
    "negative_prompt",
    "model",
    "width",
    "height",
    "seed",
    "steps",
    "cfg_scale",
    "scheduler",
    "png_key",
    "thumbnail_key",
    "size_bytes",
    "created_us",
)
SELECT_DOC = ", ".join(f"d.{c}" for c in DOC_COLUMNS)
INSERT_DOC = (
    f"INSERT INTO {{docs}} ({', '.join(DOC_COLUMNS)}, spans) "
    f"VALUES ({', '.join('?' for _ in DOC_COLUMNS)}, ?)"
)


def micros(when: datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - EPOCH) // timedelta(microseconds=1)


def from_micros(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def doc_row(doc: ImageDoc, spans: str) -> tuple:
    return (
        doc.image_id,
        doc.tenant_id,
        doc.job_id,
        doc.user_id,
        doc.api_key_id,
        doc.index,
        doc.prompt,
        doc.negative_prompt,
        doc.model,
        doc.width,
        doc.height,
        doc.seed,
        doc.steps,
        doc.cfg_scale,
        doc.scheduler,
        doc.png_key,
        doc.thumbnail_key,
        doc.size_bytes,
        micros(doc.created_at),
        spans,
    )


def doc_from_row(row: Sequence[Any]) -> ImageDoc:
    return ImageDoc(
        image_id=row[0],
        tenant_id=row[1],
        job_id=row[2],
        user_id=row[3],
        api_key_id=row[4],
        index=row[5],
        prompt=row[6],
        negative_prompt=row[7],
        model=row[8],
        width=row[9],
        height=row[10],
        seed=row[11],
        steps=row[12],
        cfg_scale=row[13],
        scheduler=row[14],
        png_key=row[15],
        thumbnail_key=row[16],
        size_bytes=row[17],
        created_at=from_micros(row[18]),
    )
