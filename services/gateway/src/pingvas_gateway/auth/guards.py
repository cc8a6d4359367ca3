"""Guards on the proxied routes, in order: the path leads somewhere, the caller is who the
route needs, and a cookie-authenticated unsafe request carries its CSRF token."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from ..domain.routing import Route, resolve
from ..edge import client_ip, request_id
from .middleware import INVALID_TOKEN, SESSION_REVOKED, Credentials
from .sessions import SAFE_METHODS, csrf_ok
from .tokens import anonymous_identity

_ROUTE_KEY = "pv_route"


def route_of(connection: ASGIConnection) -> Route:
    return connection.scope["state"][_ROUTE_KEY]


# guards are async: Litestar would run sync ones in a worker thread, a hop per request
async def known_route(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    route = resolve(connection.scope["method"], connection.scope["path"])  # type: ignore[typeddict-item]
    if route is None:
        raise NotFoundException("No service answers this path.")
    connection.scope["state"][_ROUTE_KEY] = route


async def authenticated(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Public routes take anyone (a valid token still counts); the others need credentials."""
    if route_of(connection).public or connection.user.kind != "anonymous":
        return
    credentials: Credentials = connection.auth
    challenge = 'Bearer realm="pingvas"'
    extra = None
    if credentials.refused:
        challenge += ', error="invalid_token"'
        detail = "The credentials are not valid (expired, revoked or malformed); log in again."
        extra = {"code": INVALID_TOKEN}
        if credentials.code == SESSION_REVOKED:
            detail = (
                "This session has ended (logged out, password reset, removed from the team, "
                "or the team was deleted); log in again."
            )
            extra = {"code": SESSION_REVOKED}
    else:
        detail = "Log in, or send an API key as `Authorization: Bearer pvk_...`."
    raise NotAuthorizedException(detail, headers={"WWW-Authenticate": challenge}, extra=extra)


async def csrf_protected(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    credentials: Credentials = connection.auth
    if credentials.method != "cookie" or connection.scope["method"] in SAFE_METHODS:  # type: ignore[typeddict-item]
        return
    if csrf_ok(connection):
        return
    if route_of(connection).public:
        # a public route works without the session: go on as anonymous, never as the cookie
        connection.scope["user"] = anonymous_identity(
            request_id=request_id(connection.scope), client_ip=client_ip(connection.scope)
        )
        connection.scope["auth"] = Credentials()
        return
    raise PermissionDeniedException(
        "Send the pv_csrf cookie's value as X-CSRF-Token.", extra={"code": "csrf_failed"}
    )
