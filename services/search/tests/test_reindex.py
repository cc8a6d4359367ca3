"""`pingvas-search reindex` against render's real export API (render's app in process):
it rebuilds from render, skips what was deleted, catches up with deletions made while
it ran, never shows searches a half-built index, and leaves everything as it was when
it fails."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from pingvas_render.adapters.db import images as render_images
from pingvas_render.app import create_app as create_render_app
from pingvas_render.settings import Settings as RenderSettings
from pingvas_search.usecases.reindex import ReindexError, reindex
from pydantic import SecretStr

from pingvas_contracts import example
from pingvas_contracts.events.tenants import TenantDeleted
from pingvas_kit.db import Database


@asynccontextmanager
async def render_running(run_service) -> AsyncIterator[tuple[Database, httpx.AsyncClient]]:
    async with run_service(
        create_render_app, RenderSettings, test_models=True, dispatcher_enabled=False
    ) as render:
        yield render.runtime.db, render.client


async def store_in_render(db: Database, tenant_id: str, prompt: str) -> str:
    """An image as render's worker API leaves it: a row in render's images table."""
    image_id = str(uuid.uuid4())
    async with db.transaction() as session:
        await session.execute(
            render_images.insert().values(
                id=image_id,
                tenant_id=tenant_id,
                job_id=str(uuid.uuid4()),
                index=0,
                user_id=None,
                api_key_id=None,
                prompt=prompt,
                negative_prompt="",
                model="tiny-sd1",
                width=64,
                height=64,
                seed=1,
                steps=4,
                cfg_scale=7.5,
                scheduler="euler",
                png_key=f"tenants/{tenant_id}/images/{image_id}.png",
                thumbnail_key=f"tenants/{tenant_id}/images/{image_id}.webp",
                size_bytes=100,
                sha256="0" * 64,
                created_at=datetime.now(UTC) - timedelta(minutes=5),
            )
        )
    return image_id


class DeleteWhileLoading:
    """The real engine, with a user deleting an image right after reindex fetched the
    page holding it and before that page is loaded (the race the catch-up is for), and
    a search made while the new generation is half built."""

    def __init__(self, engine, search, tenant_id: str, victim: str) -> None:  # noqa: ANN001
        self.engine, self.search, self.tenant_id, self.victim = engine, search, tenant_id, victim
        self.seen_during: list[str] | None = None

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.engine, name)

    async def bulk_load(self, generation: str, docs: Sequence) -> None:  # noqa: ANN001
        if any(d.image_id == self.victim for d in docs):
            await self.search.deleted(self.tenant_id, self.victim)
            self.seen_during = await self.search.found(self.tenant_id, "fox")
        await self.engine.bulk_load(generation, docs)


async def test_rebuilds_from_render_and_catches_up_with_deletions(search, run_service):
    t = str(uuid.uuid4())
    async with render_running(run_service) as (render_db, render_http):
        kept = await store_in_render(render_db, t, "a red fox in the snow")
        buried = await store_in_render(render_db, t, "a grey fox at dusk")
        victim = await store_in_render(render_db, t, "a fox cub sleeping")
        # the search index today: only what its events said (one image, one deletion)
        await search.created(t, "a red fox in the snow", image_id=kept)
        await search.deleted(t, buried)
        engine = DeleteWhileLoading(search.engine, search, t, victim)
        result = await reindex(
            search.settings,
            engine=engine,
            db=search.db,
            http=render_http,
            render_url="http://testserver",
            batch=1,
            progress=False,
        )
    assert result["total"] == 3 and result["skipped"] == 1 and result["caught_up"] >= 1
    # mid-reindex, searches still read the old generation
    assert engine.seen_during == ["a red fox in the snow"]
    # afterwards: render's images, less the two deleted ones
    assert await search.found(t, "fox") == ["a red fox in the snow"]
    generations = await search.engine.generations()
    assert generations["read"] == [result["generation"]] == generations["write"]
    # the running service writes into the new generation
    await search.created(t, "a fox and a hound")
    assert sorted(await search.found(t, "fox")) == ["a fox and a hound", "a red fox in the snow"]


async def test_a_failed_reindex_leaves_the_index_as_it_was(search, run_service):
    t = str(uuid.uuid4())
    await search.created(t, "a red fox in the snow")
    before = await search.engine.generations()
    async with render_running(run_service) as (_, render_http):
        wrong = search.settings.model_copy(
            update={"render_export_token": SecretStr("not-the-token")}
        )
        with pytest.raises(ReindexError, match="401"):
            await reindex(
                wrong,
                engine=search.engine,
                db=search.db,
                http=render_http,
                render_url="http://testserver",
                progress=False,
            )
    assert await search.engine.generations() == before
    assert await search.found(t, "fox") == ["a red fox in the snow"]
    # and its writes still land
    await search.created(t, "a fox cub")
    assert len(await search.found(t, "fox")) == 2


async def test_the_reindex_skips_images_of_deleted_tenants(search, run_service):
    gone, kept = str(uuid.uuid4()), str(uuid.uuid4())
    async with render_running(run_service) as (render_db, render_http):
        await store_in_render(render_db, gone, "a fox of a deleted team")
        await store_in_render(render_db, kept, "a fox of a live team")
        await search.deliver(
            example(
                TenantDeleted,
                slug="gone",
                deleted_by_user_id=None,
                reason="owner_request",
                deleted_at=datetime.now(UTC),
            ),
            tenant_id=gone,
        )
        result = await reindex(
            search.settings,
            engine=search.engine,
            db=search.db,
            http=render_http,
            render_url="http://testserver",
            progress=False,
        )
    assert result["loaded"] == 1
    assert await search.found(gone, "fox") == []
    assert await search.found(kept, "fox") == ["a fox of a live team"]
    async with search.db.sessionmaker() as session:
        assert (await session.execute(sa.text("SELECT 1"))).scalar() == 1
