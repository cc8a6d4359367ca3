"""/api/openapi.json (every service's public API in one document) and /api/docs (Scalar)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from litestar import Controller, MediaType, Request, Response, get
from litestar.datastructures import State
from litestar.openapi.plugins import ScalarRenderPlugin

from pingvas_kit.logging import get_logger

from ..domain.openapi import merge

log = get_logger("pingvas.gateway.docs")

OPENAPI_PATH = "/api/openapi.json"
#: the merged document is rebuilt at most this often
CACHE_SECONDS = 30.0


class _Scalar(ScalarRenderPlugin):
    @staticmethod
    def get_openapi_json_route(request: Request) -> str:
        return OPENAPI_PATH


_SCALAR = _Scalar()


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
    def docs(self, request: Request) -> Response[bytes]:
        page = _SCALAR.render(request, {"info": {"title": "Pingvas API"}})
        return Response(page, media_type=MediaType.HTML)
