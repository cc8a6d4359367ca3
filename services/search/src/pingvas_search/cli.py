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

import httpx

from pingvas_kit.logging import configure_logging
from pingvas_kit.settings import with_local_secret

from .settings import Settings
from .usecases.reindex import ReindexError, reindex, status


def load_settings() -> Settings:
    settings = with_local_secret(Settings(), "SEARCH_INTERNAL_SECRET", "SEARCH_RENDER_EXPORT_TOKEN")
    return settings  # type: ignore[return-value]  # the kit returns what it was given, typed as its base


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
