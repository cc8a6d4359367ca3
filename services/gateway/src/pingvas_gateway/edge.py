"""What every response at the edge carries: a request id, and the security headers; and who
the client is (the socket's peer, or what a trusted proxy says, domain/forwarded.py)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from pingvas_kit.logging import bound_contextvars

from .domain.forwarded import ForwardedHeader, client_of, networks

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_STATE_KEY = "pv_request_id"


def spa_csp(image_origins: Sequence[str] = ()) -> str:
    """The SPA: its own scripts and styles only; images may come from presigned storage URLs
    (any https origin, plus `image_origins`, e.g. the local emulator's http one)."""
    images = " ".join(("'self'", "data:", "blob:", "https:", *image_origins))
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src {images}; font-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


SPA_CSP = spa_csp()
#: the API docs page: its viewer is bundled into the web build (api/docs.py), so nothing
#: comes from another origin; the viewer sets inline styles and may start a blob: worker
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "font-src 'self' data:; img-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
DOCS_PATH = "/api/docs"


def request_id(scope: Scope) -> str:
    """The request's id: the caller's X-Request-ID when it is sane, else a new one."""
    state: dict[str, Any] = scope.setdefault("state", {})
    rid = state.get(_STATE_KEY)
    if rid is None:
        incoming = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        state[_STATE_KEY] = rid
    return rid


def client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


def forwarded_middleware(cidrs: Sequence[str], header: ForwardedHeader) -> Any:
    """The outermost middleware: puts the real client into scope["client"] (and the scheme
    the client used into scope["scheme"]) when the peer is a trusted proxy; otherwise leaves
    the peer there and the forwarded headers unread. Everything after it (per-IP limits, the
    identity's `ip`, Secure cookies, HSTS) sees the result."""
    trusted = networks(cidrs)

    def factory(app: Any) -> Any:
        if not trusted:
            return app

        async def middleware(scope: Scope, receive: Any, send: Any) -> None:
            if scope["type"] in ("http", "websocket"):
                peer = scope.get("client")
                client = client_of(
                    peer[0] if peer else "",
                    scope.get("headers", ()),
                    trusted=trusted,
                    header=header,
                )
                if peer and client.host != peer[0]:
                    scope["client"] = (client.host, 0)
                if client.scheme:
                    secure = client.scheme == "https"
                    if scope["type"] == "http":
                        scope["scheme"] = "https" if secure else "http"
                    else:
                        scope["scheme"] = "wss" if secure else "ws"
            await app(scope, receive, send)

        return middleware

    return factory


def request_id_middleware(app: Any) -> Any:
    """Bind the request id into every log line written while the request runs."""

    async def middleware(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        with bound_contextvars(request_id=request_id(scope)):
            await app(scope, receive, send)

    return middleware


async def security_headers(message: Message, scope: Scope) -> None:
    """before_send hook: runs for every response, errors and unmatched routes included."""
    if message["type"] != "http.response.start" or scope["type"] != "http":
        return
    headers = MutableScopeHeaders.from_message(message)
    headers[REQUEST_ID_HEADER] = request_id(scope)
    headers["x-content-type-options"] = "nosniff"
    headers["referrer-policy"] = "strict-origin-when-cross-origin"
    headers["x-frame-options"] = "DENY"
    if scope.get("path") == DOCS_PATH:
        headers["content-security-policy"] = DOCS_CSP
    else:
        headers["content-security-policy"] = getattr(scope["app"].state, "spa_csp", SPA_CSP)
    settings = getattr(scope["app"].state, "settings", None)
    if scope.get("scheme") == "https" or getattr(settings, "tls_in_front", False):
        max_age = getattr(settings, "hsts_max_age", 31536000)
        headers["strict-transport-security"] = f"max-age={max_age}; includeSubDomains"
