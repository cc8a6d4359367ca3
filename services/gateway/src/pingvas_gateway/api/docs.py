"""/api/openapi.json (every service's public API in one document) and /api/docs, the reference
on it: Scalar's viewer, bundled into the web build from a pinned npm package
(web/scripts/api-reference.mjs), so the page loads nothing from another origin and works
offline. The page's files (/api-docs/...) are served from the web build like the SPA's."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from litestar import Controller, MediaType, Response, get
from litestar.datastructures import State

from pingvas_kit.logging import get_logger

from ..domain.openapi import merge
from ..settings import Settings

log = get_logger("pingvas.gateway.docs")

OPENAPI_PATH = "/api/openapi.json"
#: the merged document is rebuilt at most this often
CACHE_SECONDS = 30.0

#: the viewer's files in the web build (web/public/api-docs/ and what the build script adds)
DOCS_FILES = ("api-docs/scalar.js", "api-docs/init.js", "api-docs/pingvas.css")

DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pingvas API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/api-docs/pingvas.css">
</head>
<body>
<div id="pingvas-api-reference"></div>
<script src="/api-docs/scalar.js"></script>
<script src="/api-docs/init.js"></script>
</body>
</html>
"""

NO_BUILD_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pingvas API reference unavailable</title>
<link rel="icon" href="data:,">
<style>
body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem;
  line-height: 1.5; }
code { background: #f2f2f2; padding: 0.1em 0.3em; }
</style>
</head>
<body>
<section lang="en">
<h1>The API reference is not built</h1>
<p>This gateway has no web build with the reference viewer. Build the web app
(<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, or <code>./pingvas up</code>) and reload.
The document itself is at <a href="/api/openapi.json">/api/openapi.json</a>.</p>
</section>
<section lang="ko">
<h1>API 문서가 빌드되지 않았습니다</h1>
<p>이 게이트웨이에는 문서 뷰어가 포함된 웹 빌드가 없습니다. 웹 앱을 빌드한 뒤
(<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code> 또는 <code>./pingvas up</code>)
새로 고침하세요. OpenAPI 문서는 <a href="/api/openapi.json">/api/openapi.json</a>에 있습니다.</p>
</section>
</body>
</html>
"""


class OpenAPIDocuments:
    """Fetches each upstream's /openapi.json and keeps the merge for a little while."""

    def __init__(self, urls: dict[str, str], *, client: httpx.AsyncClient, timeout: float):
        self.urls = {name: url.rstrip("/") for name, url in urls.items()}
        self.client = client
        self.timeout = timeout
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()

    async def document(self) -> dict[str, Any]:
        async with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < CACHE_SECONDS:
                return self._cached[1]
            names = sorted(self.urls)
            fetched = await asyncio.gather(*(self._fetch(self.urls[name]) for name in names))
            documents = {name: doc for name, doc in zip(names, fetched, strict=True) if doc}
            merged = merge(documents, title="Pingvas API", version="v1")
            missing = [name for name in names if name not in documents]
            if missing:
                merged["info"]["x-pingvas-unavailable"] = missing
            else:  # a partial document is served, but not kept
                self._cached = (time.monotonic(), merged)
            return merged

    async def _fetch(self, base_url: str) -> dict[str, Any] | None:
        try:
            async with asyncio.timeout(self.timeout):
                response = await self.client.get(base_url + "/openapi.json")
            if response.status_code == 200:
                document = response.json()
                return document if isinstance(document, dict) else None
        except (TimeoutError, httpx.HTTPError, ValueError) as exc:
            log.info("openapi.fetch_failed", url=base_url, error=type(exc).__name__)
        return None


class DocsController(Controller):
    include_in_schema = False

    @get(OPENAPI_PATH)
    async def openapi(self, state: State) -> dict[str, Any]:
        return await state.openapi.document()

    @get("/api/docs", media_type=MediaType.HTML, sync_to_thread=False)
    def docs(self, state: State) -> Response[str]:
        settings: Settings = state.settings
        dist = settings.spa_dir()
        missing = [name for name in DOCS_FILES if not (dist / name).is_file()]
        if missing:
            log.warning("docs.viewer_missing", web_dist=str(dist), missing=missing)
            return Response(
                NO_BUILD_PAGE,
                status_code=503,
                media_type=MediaType.HTML,
                headers={"cache-control": "no-store"},
            )
        return Response(DOCS_PAGE, media_type=MediaType.HTML, headers={"cache-control": "no-cache"})
