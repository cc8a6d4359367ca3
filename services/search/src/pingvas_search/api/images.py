"""The tenant's image search and prompt suggestions (docs/search.md, "API")."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from pingvas_kit.http import CodedHTTPException, problem_responses
from pingvas_kit.params import IsoDateTime
from pingvas_kit.problems import INVALID_CURSOR

from ..engine import EngineUnavailable, ImageHit, ImageQuery, InvalidCursor, Segment
from .deps import Context, Ctx, Searcher

router = APIRouter(prefix="/api/v1/search", tags=["search"])


class SegmentOut(BaseModel):
    text: str
    match: bool


class ImageResult(BaseModel):
    """Render's image fields (the gallery shows either), plus why it matched."""

    id: str
    job_id: str
    index: int
    prompt: str
    negative_prompt: str
    model: str
    width: int
    height: int
    seed: int
    steps: int
    cfg_scale: float
    scheduler: str
    size_bytes: int
    created_at: datetime
    url: str
    thumbnail_url: str
    score: float | None
    highlight: list[SegmentOut]


class ImageResults(BaseModel):
    items: list[ImageResult]
    next_cursor: str | None
    total: int
    engine: str
    took_ms: int


class SuggestionOut(BaseModel):
    prompt: str
    images: int
    highlight: list[SegmentOut]


class Suggestions(BaseModel):
    items: list[SuggestionOut]


def _segments(segments: list[Segment]) -> list[SegmentOut]:
    return [SegmentOut(text=s.text, match=s.match) for s in segments]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def _result(ctx: Context, hit: ImageHit) -> ImageResult:
    d = hit.doc
    url, thumbnail_url = await asyncio.gather(
        ctx.presigner.url(d.png_key, "image/png"),
        ctx.presigner.url(d.thumbnail_key, "image/webp"),
    )
    return ImageResult(
        id=d.image_id,
        job_id=d.job_id,
        index=d.index,
        prompt=d.prompt,
        negative_prompt=d.negative_prompt,
        model=d.model,
        width=d.width,
        height=d.height,
        seed=d.seed,
        steps=d.steps,
        cfg_scale=d.cfg_scale,
        scheduler=d.scheduler,
        size_bytes=d.size_bytes,
        created_at=d.created_at,
        url=url,
        thumbnail_url=thumbnail_url,
        score=hit.score,
        highlight=_segments(hit.highlight),
    )


def _unavailable() -> CodedHTTPException:
    return CodedHTTPException(
        503,
        "search-unavailable",
        "Search is unavailable right now; try again shortly.",
        headers={"Retry-After": "5"},
    )


@router.get(
    "/images",
    summary="Search the team's images",
    description=(
        "Images whose prompt matches `q`, by relevance or newest first (`sort`), optionally of "
        "one `model` and within `from`/`to`, a page at a time (`cursor` from `next_cursor`); each"
        " result marks the matching words. 400 when `from` is after `to`; 503 when the search "
        "index is not reachable."
    ),
    responses=problem_responses(400, 403, 422, 503),
)
async def search_images(
    me: Searcher,
    ctx: Ctx,
    q: Annotated[str, Query(max_length=500)] = "",
    model: Annotated[str | None, Query(max_length=128)] = None,
    since: Annotated[IsoDateTime | None, Query(alias="from")] = None,
    until: Annotated[IsoDateTime | None, Query(alias="to")] = None,
    sort: Literal["relevance", "newest"] | None = None,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 24,
) -> ImageResults:
    since, until = _utc(since), _utc(until)
    if since and until and since >= until:
        raise CodedHTTPException(400, "invalid-date-range", "`from` must be before `to`.")
    started = time.perf_counter()
    query = ImageQuery(
        tenant_id=me.tenant_id,  # type: ignore[arg-type] # TenantIdentity has one
        text=q.strip(),
        model=model or None,
        since=since,
        until=until,
        sort=sort or ("relevance" if q.strip() else "newest"),
        limit=limit,
        cursor=cursor or None,
    )
    try:
        hits = await ctx.engine.search(query)
    except InvalidCursor:
        raise CodedHTTPException(
            400,
            INVALID_CURSOR,
            "That cursor does not belong to this search; start again without it.",
        ) from None
    except EngineUnavailable:
        raise _unavailable() from None
    items = [await _result(ctx, hit) for hit in hits.items]
    return ImageResults(
        items=items,
        next_cursor=hits.next_cursor,
        total=hits.total,
        engine=ctx.engine.name,
        took_ms=round((time.perf_counter() - started) * 1000),
    )


@router.get(
    "/suggest",
    summary="Suggest prompts",
    description=(
        "Prompts of the team's images that match what was typed so far (`q`), the matching part "
        "marked, up to `limit`, for a search box."
    ),
    responses=problem_responses(403, 422, 503),
)
async def suggest(
    me: Searcher,
    ctx: Ctx,
    q: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=20)] = 8,
) -> Suggestions:
    try:
        found = await ctx.engine.suggest(me.tenant_id, q.strip(), limit=limit)  # type: ignore[arg-type]
    except EngineUnavailable:
        raise _unavailable() from None
    return Suggestions(
        items=[
            SuggestionOut(prompt=s.prompt, images=s.images, highlight=_segments(s.highlight))
            for s in found
        ]
    )
