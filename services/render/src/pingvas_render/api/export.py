"""The export API: every image's metadata, all tenants, for search's reindex
(docs/search.md, "Reindex"). Not routed by the gateway; every call carries the export
token (RENDER_EXPORT_TOKEN, by default derived from the internal secret)."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request

from ..adapters.db import images
from ..adapters.repository import aware
from ..domain.errors import NotAuthenticated
from .deps import Ctx

#: what an exported image carries: what `render.image.created` carried, plus its tenant
FIELDS = (
    "id", "tenant_id", "job_id", "index", "user_id", "api_key_id", "prompt",
    "negative_prompt", "model", "width", "height", "seed", "steps", "cfg_scale",
    "scheduler", "png_key", "thumbnail_key", "size_bytes", "created_at",
)  # fmt: skip


async def _exporter(request: Request, ctx: Ctx) -> None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    expected = ctx.settings.export_token_value()
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise NotAuthenticated("The export token is required.")


router = APIRouter(
    prefix="/internal/v1/export", tags=["internal"], dependencies=[Depends(_exporter)]
)


@router.get("/images")
async def export_images(
    ctx: Ctx,
    after: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
) -> dict[str, Any]:
    """A page of images in id order; `next_cursor` is the `after` of the next page.
    The first page (no `after`) also says how many images there are, for a progress bar."""
    c = images.c
    query = sa.select(*(getattr(c, f) for f in FIELDS)).order_by(c.id).limit(limit + 1)
    if after:
        query = query.where(c.id > after)
    async with ctx.db.sessionmaker() as session:
        rows = (await session.execute(query)).all()
        total = (
            None
            if after
            else (
                await session.execute(sa.select(sa.func.count()).select_from(images))
            ).scalar_one()
        )
    more = len(rows) > limit
    rows = rows[:limit]
    items = []
    for row in rows:
        item = dict(row._mapping)
        item["created_at"] = aware(item["created_at"]).isoformat()
        items.append(item)
    return {"items": items, "next_cursor": rows[-1].id if more else None, "total": total}
