"""`pingvas-search`: the search service's command line.

    pingvas-search reindex [--batch N] [--render-url URL] [--no-progress]
    pingvas-search status [--json]

`reindex` rebuilds the image index from render's export API without downtime
(docs/search.md, "Reindex"): a new generation takes every write from the start, is
filled page by page (a progress bar), caught up with the deletions made meanwhile, and
only then becomes what searches read. Ctrl-C or an error drops the new generation and
leaves the index as it was.

Both work where the service works: its settings (SEARCH_* variables; the engine, its
database for the tombstones), and, beside the local run, the local run's internal secret
(var/secrets.json), from which render's export token is derived."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

from pingvas_kit.db import Database, aware, now
from pingvas_kit.logging import configure_logging
from pingvas_kit.migrations import open_database
from pingvas_kit.settings import with_local_secret

from .adapters import repository as repo
from .engine import ImageDoc, SearchEngine, make_engine
from .settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
#: deletions this long before the reindex began are caught up too (clock skew between
#: the consumer's and this command's view of "now" is well below it)
CATCH_UP_MARGIN = timedelta(seconds=30)


class ReindexError(RuntimeError):
    pass


def load_settings() -> Settings:
    return with_local_secret(Settings(), "SEARCH_INTERNAL_SECRET", "SEARCH_RENDER_EXPORT_TOKEN")  # type: ignore[return-value]


def doc_from_export(item: dict[str, Any]) -> ImageDoc:
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
        created_at=aware(datetime.fromisoformat(item["created_at"])),
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pingvas-search", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("reindex", help="rebuild the image index from render, then switch to it")
    p.add_argument("--batch", type=int, default=None, help="images per page (default 500)")
    p.add_argument("--render-url", default=None, help="render's URL (default SEARCH_RENDER_URL)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    s = sub.add_parser("status", help="the engine, its generations and document count")
    s.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging(Settings.service_name, level="WARNING", json=False)
    if args.command == "reindex":
        try:
            result = asyncio.run(
                reindex(
                    settings,
                    render_url=args.render_url,
                    batch=args.batch,
                    progress=not args.no_progress,
                )
            )
        except KeyboardInterrupt:
            print("reindex stopped; the index is as it was", file=sys.stderr)
            return 130
        except (ReindexError, httpx.HTTPError) as exc:
            print(f"reindex failed, the index is as it was: {exc}", file=sys.stderr)
            return 1
        print(
            f"reindexed {result['loaded']} images into {result['generation']} "
            f"({result['skipped']} deleted skipped, {result['caught_up']} deletions caught up)"
        )
        return 0
    info = asyncio.run(status(settings))
    if args.json:
        print(json.dumps(info))
    else:
        gens = info["generations"]
        print(f"engine      {info['engine']} ({info['check']})")
        print(f"read        {', '.join(gens.get('read', []))}")
        print(f"write       {', '.join(gens.get('write', []))}")
        print(f"documents   {info['documents']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
