"""Rebuild the image index without downtime, and report on it (docs/search.md, "Reindex").

`reindex`: a new generation takes every write from the start, is filled page by page
from render's export API (images tombstoned here, or of deleted tenants, skipped), is
caught up with the deletions made meanwhile, and only then becomes what searches read.
Any error, Ctrl-C included, drops the new generation and leaves the index as it was.
The consumers keep writing to both generations meanwhile, so nothing written during the
reindex is lost.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from tqdm import tqdm

from pingvas_kit.db import Database, now
from pingvas_kit.migrations import open_database

from ..adapters import repository as repo
from ..adapters.db import MIGRATIONS
from ..engine import ImageDoc, SearchEngine, make_engine
from ..settings import Settings

#: deletions this long before the reindex began are caught up too (clock skew between
#: the consumer's and this command's view of "now" is well below it)
CATCH_UP_MARGIN = timedelta(seconds=30)


class ReindexError(RuntimeError):
    """Render's export API did not give a page: the new generation is dropped."""


def doc_from_export(item: dict[str, Any]) -> ImageDoc:
    """One item of render's export API as search indexes it."""
    created_at = datetime.fromisoformat(item["created_at"])
    if created_at.tzinfo is None:  # render's times are UTC
        created_at = created_at.replace(tzinfo=UTC)
    return ImageDoc(
        tenant_id=item["tenant_id"],
        image_id=item["id"],
        job_id=item["job_id"],
        user_id=item.get("user_id"),
        api_key_id=item.get("api_key_id"),
        index=int(item["index"]),
        prompt=item["prompt"],
        negative_prompt=item.get("negative_prompt") or "",
        model=item["model"],
        width=int(item["width"]),
        height=int(item["height"]),
        seed=int(item["seed"]),
        steps=int(item["steps"]),
        cfg_scale=float(item["cfg_scale"]),
        scheduler=item["scheduler"],
        png_key=item["png_key"],
        thumbnail_key=item["thumbnail_key"],
        size_bytes=int(item["size_bytes"]),
        created_at=created_at,
    )


async def reindex(
    settings: Settings,
    *,
    engine: SearchEngine | None = None,
    db: Database | None = None,
    http: httpx.AsyncClient | None = None,
    render_url: str | None = None,
    batch: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Rebuild the index; {"generation", "loaded", "skipped", "caught_up", "total"}."""
    own_engine, own_db, own_http = engine is None, db is None, http is None
    engine = engine or make_engine(settings)
    db = db or await open_database(settings, MIGRATIONS)
    http = http or httpx.AsyncClient(timeout=60)
    base = (render_url or settings.render_url).rstrip("/")
    headers = {"authorization": f"Bearer {settings.export_token_value}"}
    batch = batch or settings.reindex_batch_size
    generation: str | None = None
    bar: tqdm | None = None
    try:
        if own_engine:
            await engine.start()
        began = now()
        generation = await engine.begin_reindex()
        # tenants deleted later bury their images in image_state: the catch-up has them
        async with db.sessionmaker() as session:
            gone_tenants = await repo.deleted_tenants(session)
        loaded = skipped = 0
        total: int | None = None
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": batch}
            if after:
                params["after"] = after
            r = await http.get(f"{base}/internal/v1/export/images", params=params, headers=headers)
            if r.status_code != 200:
                raise ReindexError(f"render's export API answered {r.status_code}: {r.text[:200]}")
            page = r.json()
            if total is None:
                total = int(page.get("total") or 0)
                bar = tqdm(total=total, unit="img", desc="reindex", disable=not progress)
            docs = [doc_from_export(item) for item in page["items"]]
            async with db.sessionmaker() as session:
                dead = await repo.deleted_among(session, [d.image_id for d in docs])
            keep = [d for d in docs if d.image_id not in dead and d.tenant_id not in gone_tenants]
            if keep:
                await engine.bulk_load(generation, keep)
            loaded += len(keep)
            skipped += len(docs) - len(keep)
            if bar is not None:
                bar.update(len(docs))
            after = page.get("next_cursor")
            if not after:
                break
        async with db.sessionmaker() as session:
            buried = await repo.deleted_since(session, began - CATCH_UP_MARGIN)
        if buried:
            await engine.delete_from(generation, buried)
        await engine.finish_reindex(generation)
        return {
            "generation": generation,
            "loaded": loaded,
            "skipped": skipped,
            "caught_up": len(buried),
            "total": total or 0,
        }
    except BaseException:
        if generation is not None:
            await engine.abort_reindex(generation)
        raise
    finally:
        if bar is not None:
            bar.close()
        if own_http:
            await http.aclose()
        if own_db:
            await db.dispose()
        if own_engine:
            await engine.close()


async def status(settings: Settings) -> dict[str, Any]:
    engine = make_engine(settings)
    await engine.start()
    try:
        return {
            "engine": engine.name,
            "generations": await engine.generations(),
            "documents": await engine.count(),
            "check": await engine.check(),
        }
    finally:
        await engine.close()
