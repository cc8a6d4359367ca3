"""The SPA at /: files from the built web/dist, and index.html for any other page path (the
SPA's router takes it from there). Without a build, / is the placeholder status page."""

from __future__ import annotations

from pathlib import Path

from litestar import MediaType, Request, Response, get
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.response import File

from ..settings import Settings
from .home import status_page

#: Vite's content-hashed bundles never change under the same name
_IMMUTABLE = "public, max-age=31536000, immutable"
_REVALIDATE = "no-cache"
_RESERVED = ("api", "webhooks")


@get(["/", "/{rest:path}"], include_in_schema=False)
async def spa(request: Request, state: State) -> Response | File:
    settings: Settings = state.settings
    dist = settings.spa_dir()
    index = dist / "index.html"
    relative = str(request.path_params.get("rest", "")).lstrip("/")
    if relative.split("/", 1)[0] in _RESERVED:
        raise NotFoundException()
    if not index.is_file():
        if relative:
            raise NotFoundException()
        return Response(await status_page(state), media_type=MediaType.HTML)
    if relative:
        target = _inside(dist, relative)
        if target is not None and target.is_file():
            cache = _IMMUTABLE if relative.startswith("assets/") else _REVALIDATE
            return File(
                target,
                filename=target.name,
                content_disposition_type="inline",
                headers={"cache-control": cache},
            )
        if "." in relative.rsplit("/", 1)[-1]:
            raise NotFoundException()  # a missing file, not a page of the app
    return File(
        index,
        filename=index.name,
        content_disposition_type="inline",
        media_type=MediaType.HTML,
        headers={"cache-control": _REVALIDATE},
    )


def _inside(root: Path, relative: str) -> Path | None:
    """`relative` under `root`, or None if it climbs out (../, symlinks)."""
    try:
        target = (root / relative).resolve()
        target.relative_to(root.resolve())
    except (ValueError, OSError):
        return None
    return target
