"""The tenant's gallery: list, show (presigned URLs), delete."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from pingvas_contracts.events.render import ImageDeleted
from pingvas_kit.http import problem_responses
from pingvas_kit.params import IsoDateTime

from ..adapters import repository as repo
from ..domain.errors import NotFound, NotYourImage
from ..domain.images import DEFAULT_IMAGE_DELETION, attachment, download_name, may_delete
from .deps import Context, Ctx, ImageReader, ImageWriter
from .schemas import ImageOut, ImagePage
from .views import decode_cursor, encode_cursor

router = APIRouter(prefix="/api/v1/images", tags=["images"])


async def _out(ctx: Context, row) -> ImageOut:
    ttl = ctx.settings.presign_ttl_s
    name = download_name(row.prompt, repo.aware(row.created_at))
    return ImageOut(
        id=row.id,
        job_id=row.job_id,
        user_id=row.user_id,
        index=row.index,
        prompt=row.prompt,
        negative_prompt=row.negative_prompt,
        model=row.model,
        width=row.width,
        height=row.height,
        seed=row.seed,
        steps=row.steps,
        cfg_scale=row.cfg_scale,
        scheduler=row.scheduler,
        size_bytes=row.size_bytes,
        created_at=repo.aware(row.created_at),
        url=await ctx.store.presign(row.png_key, ttl=ttl, content_type="image/png"),
        thumbnail_url=await ctx.store.presign(
            row.thumbnail_key, ttl=ttl, content_type="image/webp"
        ),
        download_name=name,
        download_url=await ctx.store.presign(
            row.png_key, ttl=ttl, content_type="image/png", disposition=attachment(name)
        ),
    )


@router.get(
    "",
    summary="List images",
    description=(
        "The team's gallery, newest first, a page at a time (`cursor` from `next_cursor`), each "
        "with presigned URLs of the image and its thumbnail."
    ),
    responses=problem_responses(403, 422),
)
async def list_images(
    me: ImageReader,
    ctx: Ctx,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    model: str | None = None,
    since: Annotated[IsoDateTime | None, Query(alias="from")] = None,
    until: Annotated[IsoDateTime | None, Query(alias="to")] = None,
) -> ImagePage:
    after = decode_cursor(cursor)
    async with ctx.db.sessionmaker() as session:
        rows = list(
            await repo.list_images(
                session,
                tenant_id=me.tenant_id,
                after=after,
                limit=limit + 1,
                model=model,
                since=_utc(since),
                until=_utc(until),
            )
        )
    more = len(rows) > limit
    rows = rows[:limit]
    return ImagePage(
        items=[await _out(ctx, r) for r in rows],
        next_cursor=encode_cursor(rows[-1]) if more else None,
    )


def _utc(value: datetime | None) -> datetime | None:
    from datetime import UTC

    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@router.get(
    "/{image_id}",
    summary="Get an image",
    description=(
        "One image with its generation's parameters and presigned URLs (valid for a limited time:"
        " ask again for fresh ones)."
    ),
    responses=problem_responses(403, 404),
)
async def get_image(image_id: str, me: ImageReader, ctx: Ctx) -> ImageOut:
    async with ctx.db.sessionmaker() as session:
        row = await repo.get_image(session, tenant_id=me.tenant_id, image_id=image_id)
    if row is None:
        raise NotFound("No such image.")
    return await _out(ctx, row)


@router.delete(
    "/{image_id}",
    status_code=204,
    summary="Delete an image",
    description=(
        "Deletes the image and its files; search forgets it too, and the team's audit log "
        "records it. A member may delete the images they made; another member's only when the "
        "team's `member_image_deletion` setting is `any` (403 `image-not-yours` otherwise). "
        "Admins, owners and API keys with images:write delete any."
    ),
    responses=problem_responses(403, 404),
)
async def delete_image(image_id: str, me: ImageWriter, ctx: Ctx) -> Response:
    async with ctx.db.transaction() as session:
        row = await repo.get_image(session, tenant_id=me.tenant_id, image_id=image_id)
        if row is None:
            raise NotFound("No such image.")
        setting = await repo.member_image_deletion(session, tenant_id=me.tenant_id)
        if not may_delete(
            me,
            made_by_user_id=row.user_id,
            setting="any" if setting == "any" else DEFAULT_IMAGE_DELETION,
        ):
            raise NotYourImage("You may delete only the images you made.")
        # objects first: if S3 fails nothing is committed and the delete can be retried
        await ctx.store.delete([row.png_key, row.thumbnail_key])
        await repo.delete_image(session, tenant_id=me.tenant_id, image_id=image_id)
        await ctx.runtime.outbox.add(
            session,
            ImageDeleted(
                image_id=row.id,
                job_id=row.job_id,
                deleted_by_user_id=me.user_id,
                deleted_by_api_key_id=me.api_key_id,
                reason="user",
                deleted_at=repo.now(),
            ),
            tenant_id=me.tenant_id,
            subject=row.id,
        )
    return Response(status_code=204)
