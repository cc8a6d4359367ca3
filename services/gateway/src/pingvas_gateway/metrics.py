"""HTTP metrics at the edge: the kit's families (pingvas_http_requests_total and
pingvas_http_request_seconds, service="gateway"), so one dashboard covers every service.

The route label is the upstream's route template for a forwarded request (the service
names it in its answer's x-pingvas-route header, which the proxy drops), else the
gateway's own template (`/healthz`, `/api/{rest}` for a request refused before it was
forwarded), else UNMATCHED. The measurement wraps the whole app, outside its exception
handling, so a 404 from the router and a crash's 500 are counted too; a streamed answer
(server-sent events) is timed until its stream ends."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, cast

from litestar import Litestar
from litestar.types import HTTPScope, Message, Receive, Scope, Send

from pingvas_kit.metrics import LATENCY, REQUESTS, ROUTE_HEADER, UNMATCHED

SERVICE = "gateway"
_UPSTREAM_ROUTE = "pv_upstream_route"


def note_upstream_route(scope: Scope, headers: Mapping[str, str]) -> None:
    """Keep the route template the upstream named, for this request's label."""
    route = headers.get(ROUTE_HEADER)
    if route:
        scope.setdefault("state", {})[_UPSTREAM_ROUTE] = route


def route_label(scope: Scope) -> str:
    state: dict[str, Any] = scope.get("state") or {}
    upstream = state.get(_UPSTREAM_ROUTE)
    if isinstance(upstream, str) and upstream.startswith("/") and len(upstream) <= 200:
        return upstream
    template = scope.get("path_template")
    return template if isinstance(template, str) and template else UNMATCHED


def metered(app: Litestar) -> Litestar:
    """`app` with every HTTP request counted and timed. It wraps the app's ASGI handler
    (what Litestar calls after its before-send wrapping): app-level middleware would
    miss the requests no route matched."""
    inner = app.asgi_handler

    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app fails before it starts one

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await inner(scope, receive, watch)
        finally:
            route = route_label(scope)
            method = cast("HTTPScope", scope)["method"]
            REQUESTS.labels(SERVICE, method, route, str(status)).inc()
            LATENCY.labels(SERVICE, method, route).observe(time.perf_counter() - started)

    app.asgi_handler = handler
    return app
