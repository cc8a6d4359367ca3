"""/api/... and /webhooks/...: forwarded to the service the routing table names, with the
gateway's signed identity. Browser sessions get their tokens as cookies (auth/sessions.py).

In the local run (settings.dev_mail) GET /dev/mail and /dev/mail/... go to the mail
service's dev inbox too, as anonymous: it is the developer's own machine."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from litestar import Controller, Request, Response, get, route
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import MutableScopeHeaders, State
from litestar.enums import HttpMethod
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.response import File, Stream
from litestar.status_codes import (
    HTTP_502_BAD_GATEWAY,
    HTTP_503_SERVICE_UNAVAILABLE,
    HTTP_504_GATEWAY_TIMEOUT,
)
from litestar.types import Message, Scope

from pingvas_kit.identity import HEADER as IDENTITY_HEADER
from pingvas_kit.identity import Identity, issue

from ..adapters.proxy import (
    Proxy,
    UnknownUpstream,
    UpstreamResponse,
    UpstreamTimeout,
    UpstreamUnreachable,
    request_headers,
    response_headers,
)
from ..adapters.session_state import SessionStateChecker
from ..auth.guards import authenticated, csrf_protected, known_route, route_of
from ..auth.middleware import Credentials
from ..auth.sessions import (
    REFRESH_COOKIE,
    DenyList,
    clear_session_cookies,
    cookies_secure,
    csrf_ok,
    is_web_client,
    move_tokens_into_cookies,
)
from ..auth.tokens import anonymous_identity
from ..domain.routing import DEV_MAIL, LOGOUT, REFRESH, VERIFY_EMAIL
from ..edge import REQUEST_ID_HEADER, client_ip, request_id
from ..metrics import note_upstream_route
from ..settings import Settings
from .spa import spa

#: DELETE /api/v1/members/{user_id}: a member's removal
_MEMBER_PATH = re.compile(r"/api/v1/members/([^/]+)")
#: DELETE /api/v1/tenant: the team's deletion
TENANT_PATH = "/api/v1/tenant"
#: responses up to this size are read whole (one write back); bigger or unsized ones stream
_BUFFER_LIMIT = 256 * 1024
#: OPTIONS too: the service says which methods a path takes (a CORS preflight never gets
#: here, Litestar's CORS middleware answers it before routing)
_METHODS = [
    HttpMethod.GET,
    HttpMethod.POST,
    HttpMethod.PUT,
    HttpMethod.PATCH,
    HttpMethod.DELETE,
    HttpMethod.OPTIONS,
]

GatewayRequest = Request[Identity, Credentials, State]


class ProxyController(Controller):
    include_in_schema = False
    guards = [known_route, authenticated, csrf_protected]

    @route(["/api/{rest:path}", "/webhooks/{rest:path}"], http_method=_METHODS)
    async def forward(self, request: GatewayRequest, state: State) -> Response[Any]:
        settings: Settings = state.settings
        proxy: Proxy = state.proxy
        identity = request.user
        path: str = request.scope["path"]
        method = request.method
        body = await request.body()
        service = route_of(request).service
        extra = {
            # minted for this request to this service only (aud, jti: docs/identity.md)
            IDENTITY_HEADER: issue(
                identity, settings.internal_secret.get_secret_value(), audience=service
            ),
            REQUEST_ID_HEADER: identity.request_id or "",
        }
        if method == "POST" and path.rstrip("/") in (REFRESH, LOGOUT):
            with_cookie = _with_refresh_token_from_cookie(request, body)
            if with_cookie is not None:
                body, extra["content-type"] = with_cookie, "application/json"
        elif method == "POST" and path.rstrip("/") == VERIFY_EMAIL and csrf_ok(request):
            # the browser's session (if it is the verified person's) gets a new pair at once,
            # its access token saying "verified"; without the cookie the link still works
            with_cookie = _with_refresh_token_from_cookie(request, body)
            if with_cookie is not None:
                body, extra["content-type"] = with_cookie, "application/json"
        headers = request_headers(request.headers.items(), extra)
        try:
            upstream = await proxy.send(
                service,
                method=method,
                raw_path=_raw_path(request),
                query=request.scope["query_string"],
                headers=headers,
                body=body,
            )
        except UnknownUpstream:
            raise HTTPException(
                status_code=HTTP_503_SERVICE_UNAVAILABLE, detail="This service is not deployed."
            ) from None
        except UpstreamTimeout:
            raise _timeout() from None
        except UpstreamUnreachable:
            raise _unreachable() from None

        note_upstream_route(request.scope, upstream.headers)
        status = upstream.status_code
        if method == "DELETE" and 200 <= status < 300 and identity.tenant_id:
            await _forget_ended_membership(state.session_state, identity, path.rstrip("/"))
        out_headers = response_headers(upstream.headers)
        content_type = upstream.headers.get("content-type")
        is_logout = method == "POST" and path.rstrip("/") == LOGOUT
        if not _should_buffer(upstream, request, is_logout):
            out_headers.pop("content-type", None)
            return Stream(
                upstream.aiter_bytes(),
                status_code=status,
                headers=out_headers,
                media_type=content_type or "application/octet-stream",
                background=BackgroundTask(upstream.aclose),
            )

        try:
            content = await upstream.aread()
        except UpstreamTimeout:
            raise _timeout() from None
        except UpstreamUnreachable:
            raise _unreachable() from None
        finally:
            await upstream.aclose()

        response: Response[Any] = Response(content, status_code=status, headers=out_headers)
        response.headers.pop("content-type", None)
        response.media_type = content_type or "application/octet-stream"
        secure = cookies_secure(request, settings.cookie_secure)
        if is_web_client(request) and 200 <= status < 300 and _is_json(content_type):
            document = _json_object(content)
            if document is not None and "access_token" in document:
                document = move_tokens_into_cookies(
                    document, response, secure=secure, refresh_ttl=settings.refresh_token_ttl
                )
                response.content = json.dumps(document).encode()
        if is_logout:
            await _end_session(request, state.deny_list, settings)
            clear_session_cookies(response, secure=secure)
        return response


@get(["/dev", "/dev/{rest:path}"], include_in_schema=False)
async def dev_mail(request: Request, state: State) -> Response[Any] | File | Stream:
    """The mail service's dev inbox, registered only when settings.dev_mail is on (else
    /dev/mail is the SPA's "not found" like any other unknown page). It holds all of /dev:
    Litestar's router does not fall back from /dev/... to the SPA's catch-all, so any other
    /dev path is handed to the SPA here."""
    rest = str(request.path_params.get("rest", "")).lstrip("/")
    if rest != "mail" and not rest.startswith("mail/"):
        request.scope["path_params"] = {"rest": request.scope["path"]}
        return await spa.fn(request, state)
    settings: Settings = state.settings
    proxy: Proxy = state.proxy
    scope = request.scope
    identity = anonymous_identity(request_id=request_id(scope), client_ip=client_ip(scope))
    extra = {
        IDENTITY_HEADER: issue(
            identity, settings.internal_secret.get_secret_value(), audience="mail"
        ),
        REQUEST_ID_HEADER: identity.request_id or "",
    }
    try:
        upstream = await proxy.send(
            "mail",
            method="GET",
            raw_path=_raw_path(request),
            query=scope["query_string"],
            headers=request_headers(request.headers.items(), extra),
            body=b"",
        )
    except UnknownUpstream:
        raise HTTPException(
            status_code=HTTP_503_SERVICE_UNAVAILABLE, detail="The mail service is not running."
        ) from None
    except UpstreamTimeout:
        raise _timeout() from None
    except UpstreamUnreachable:
        raise _unreachable() from None
    note_upstream_route(scope, upstream.headers)
    out_headers = response_headers(upstream.headers)
    content_type = out_headers.pop("content-type", None) or upstream.headers.get("content-type")
    return Stream(
        upstream.aiter_bytes(),
        status_code=upstream.status_code,
        headers=out_headers,
        media_type=content_type or "application/octet-stream",
        background=BackgroundTask(upstream.aclose),
    )


#: the dev inbox may show a message's HTML in a frame of its own page (never in production)
DEV_MAIL_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob: https: http:; font-src 'self' data:; connect-src 'self'; "
    "frame-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'self'"
)


async def dev_mail_headers(message: Message, scope: Scope) -> None:
    """before_send hook after edge.security_headers, with settings.dev_mail only: the dev
    inbox's pages may frame each other (same origin)."""
    if message["type"] != "http.response.start" or scope["type"] != "http":
        return
    path = scope.get("path", "")
    if path != DEV_MAIL and not path.startswith(DEV_MAIL + "/"):
        return
    headers = MutableScopeHeaders.from_message(message)
    headers["content-security-policy"] = DEV_MAIL_CSP
    headers["x-frame-options"] = "SAMEORIGIN"


def _raw_path(request: GatewayRequest) -> str:
    """The path as the caller encoded it (some ASGI servers leave the query on it)."""
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    return raw.decode("latin-1").split("?", 1)[0]


def _with_refresh_token_from_cookie(request: GatewayRequest, body: bytes) -> bytes | None:
    """auth/refresh and auth/logout take the refresh token from pv_rt when the body has none:
    the new JSON body, or None to send the body as it came."""
    cookie = request.cookies.get(REFRESH_COOKIE)
    if not cookie:
        return None
    document = _json_object(body) if body.strip() else {}
    if document is None or document.get("refresh_token"):
        return None
    # the cookie authenticates this request: same double-submit rule as pv_at
    if not csrf_ok(request):
        raise PermissionDeniedException(
            "Send the pv_csrf cookie's value as X-CSRF-Token.", extra={"code": "csrf_failed"}
        )
    document["refresh_token"] = cookie
    return json.dumps(document).encode()


async def _end_session(request: GatewayRequest, deny_list: DenyList, settings: Settings) -> None:
    token = request.auth.token
    if token is not None and token.session_id:
        await deny_list.deny(token.session_id, expires_at=token.expires_at + settings.jwt_leeway)


async def _forget_ended_membership(
    checker: SessionStateChecker, identity: Identity, path: str
) -> None:
    """A member removed (or gone), or the team deleted, through here: the tokens that ended
    stop at once, not when the remembered session state runs out (the team's other members'
    after at most GATEWAY_SESSION_STATE_TTL)."""
    if removed := _MEMBER_PATH.fullmatch(path):
        await checker.forget(user_id=unquote(removed[1]), tenant_id=identity.tenant_id)
    elif path == TENANT_PATH:
        await checker.forget(user_id=identity.principal_id, tenant_id=identity.tenant_id)


def _should_buffer(upstream: UpstreamResponse, request: GatewayRequest, is_logout: bool) -> bool:
    content_type = upstream.headers.get("content-type", "")
    if content_type.startswith("text/event-stream"):
        return False
    if is_logout or (is_web_client(request) and _is_json(content_type)):
        return True
    length = upstream.headers.get("content-length")
    return length is not None and length.isdigit() and int(length) <= _BUFFER_LIMIT


def _is_json(content_type: str | None) -> bool:
    return bool(content_type) and content_type.split(";")[0].strip().endswith("json")  # type: ignore[union-attr]


def _json_object(content: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(content)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _timeout() -> HTTPException:
    return HTTPException(
        status_code=HTTP_504_GATEWAY_TIMEOUT, detail="The service took too long to answer."
    )


def _unreachable() -> HTTPException:
    return HTTPException(
        status_code=HTTP_502_BAD_GATEWAY, detail="The service could not be reached."
    )
