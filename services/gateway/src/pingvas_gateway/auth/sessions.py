"""Browser sessions (docs/identity.md): tokens moved into cookies for the SPA, the CSRF
double-submit check, and the deny list that ends a session at log-out."""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any, Literal

from litestar import Response
from litestar.connection import ASGIConnection
from litestar.stores.base import Store

WEB_CLIENT_HEADER = "x-pingvas-client"
CSRF_HEADER = "x-csrf-token"
ACCESS_COOKIE = "pv_at"
REFRESH_COOKIE = "pv_rt"
CSRF_COOKIE = "pv_csrf"
ACCESS_PATH = "/api"
REFRESH_PATH = "/api/v1/auth"
CSRF_PATH = "/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def is_web_client(connection: ASGIConnection) -> bool:
    return connection.headers.get(WEB_CLIENT_HEADER, "").lower() == "web"


def csrf_ok(connection: ASGIConnection) -> bool:
    """Double submit: the page read pv_csrf and echoes it; another site can do neither."""
    cookie = connection.cookies.get(CSRF_COOKIE)
    header = connection.headers.get(CSRF_HEADER)
    if not (cookie and header and cookie.isascii() and header.isascii()):
        # the tokens are url-safe ASCII; compare_digest refuses other text (a 500 otherwise)
        return False
    return hmac.compare_digest(cookie.encode(), header.encode())


def cookies_secure(connection: ASGIConnection, mode: str) -> bool:
    if mode != "auto":
        return mode == "always"
    host = (connection.url.hostname or "").lower()
    return not (connection.url.scheme == "http" and host in _LOOPBACK)


def move_tokens_into_cookies(
    body: dict[str, Any], response: Response, *, secure: bool, refresh_ttl: int
) -> dict[str, Any]:
    """Set pv_at / pv_rt / pv_csrf from a token response; the body keeps everything else."""
    body = dict(body)
    access = body.pop("access_token", None)
    refresh = body.pop("refresh_token", None)
    if access:
        max_age = int(body.get("expires_in") or 0) or None
        response.set_cookie(
            ACCESS_COOKIE,
            access,
            path=ACCESS_PATH,
            max_age=max_age,
            httponly=True,
            secure=secure,
            samesite="lax",
        )
    if refresh:
        response.set_cookie(
            REFRESH_COOKIE,
            refresh,
            path=REFRESH_PATH,
            max_age=refresh_ttl,
            httponly=True,
            secure=secure,
            samesite="strict",
        )
    response.set_cookie(
        CSRF_COOKIE,
        secrets.token_urlsafe(32),
        path=CSRF_PATH,
        max_age=refresh_ttl,
        httponly=False,
        secure=secure,
        samesite="strict",
    )
    return body


def clear_session_cookies(response: Response, *, secure: bool) -> None:
    cookies: tuple[tuple[str, str, Literal["lax", "strict"]], ...] = (
        (ACCESS_COOKIE, ACCESS_PATH, "lax"),
        (REFRESH_COOKIE, REFRESH_PATH, "strict"),
        (CSRF_COOKIE, CSRF_PATH, "strict"),
    )
    for key, path, samesite in cookies:
        response.set_cookie(
            key,
            "",
            path=path,
            max_age=0,
            expires=0,
            httponly=key != CSRF_COOKIE,
            secure=secure,
            samesite=samesite,
        )


class DenyList:
    """Sessions (refresh-token families) logged out while their access tokens still live."""

    def __init__(self, store: Store, *, max_ttl: int) -> None:
        self.store = store
        self.max_ttl = max_ttl

    async def deny(self, session_id: str, *, expires_at: int | None = None) -> None:
        ttl = self.max_ttl if expires_at is None else expires_at - int(time.time()) + 1
        await self.store.set(session_id, b"1", expires_in=max(1, min(ttl, self.max_ttl)))

    async def is_denied(self, session_id: str) -> bool:
        return await self.store.exists(session_id)
