"""Wiring, in one place: the gateway's Litestar app and the clients it holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import aiohttp
import httpx
from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.middleware.base import DefineMiddleware

from pingvas_kit import telemetry

from .adapters.api_keys import ApiKeyVerifier
from .adapters.login_delays import LoginDelays
from .adapters.proxy import Proxy
from .adapters.session_state import SessionStateChecker
from .adapters.stores import API_KEYS, DENY_LIST, LOGIN_FAILURES, SESSION_STATE, store_registry
from .adapters.upstreams import Upstreams
from .api.docs import DocsController, OpenAPIDocuments
from .api.health import HealthController
from .api.problems import EXCEPTION_HANDLERS
from .api.proxy import ProxyController, dev_mail, dev_mail_headers
from .api.spa import spa
from .auth.middleware import IdentityMiddleware
from .auth.sessions import CSRF_HEADER, WEB_CLIENT_HEADER, DenyList
from .edge import (
    REQUEST_ID_HEADER,
    forwarded_middleware,
    request_id_middleware,
    security_headers,
    spa_csp,
)
from .limits import StreamSlots, rate_limit_middleware
from .metrics import metered
from .settings import Settings


def server_spans() -> list[DefineMiddleware]:
    """A SERVER span per proxied request (a W3C traceparent from the caller is its
    parent) once pingvas_kit.telemetry is configured: non-recording (ids for the logs and
    the services) when no spans are sent."""
    if not telemetry.configured():
        return []
    from litestar.plugins.opentelemetry import OpenTelemetryConfig

    return [
        # the global provider configure() set (the Router deep-copies its middleware: a
        # provider, with its locks, cannot be copied)
        OpenTelemetryConfig(exclude_spans=["receive", "send"]).middleware
    ]


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings()
    # in production: exit now, naming each missing or public secret (SECURITY.md)
    settings.require_secrets()
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    stores, redis_store = store_registry(redis_url, max_entries=settings.memory_store_max_entries)

    @asynccontextmanager
    async def clients(app: Litestar) -> AsyncIterator[None]:
        health_timeout = settings.upstream_health_timeout
        limits = httpx.Limits(max_connections=512, max_keepalive_connections=128)
        async with (
            httpx.AsyncClient(timeout=health_timeout) as health_client,
            httpx.AsyncClient(
                timeout=settings.upstream_timeout, limits=limits, follow_redirects=False
            ) as client,
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=512, limit_per_host=256),
                # no total limit: a live stream (server-sent events) may last long; an
                # upstream silent for upstream_timeout (before or between chunks) is a 504
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=5.0, sock_read=settings.upstream_timeout
                ),
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
            ) as proxy_client,
            # event streams: a pool of their own, as big as the number of streams allowed
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=settings.stream_pool_size, limit_per_host=settings.stream_pool_size
                ),
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=5.0, sock_read=settings.upstream_timeout
                ),
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
            ) as stream_client,
        ):
            app.state.upstreams = Upstreams(
                settings.upstreams, client=health_client, timeout=health_timeout
            )
            app.state.proxy = Proxy(
                settings.upstreams, client=proxy_client, stream_client=stream_client
            )
            app.state.api_keys = ApiKeyVerifier(
                tenants_url=settings.upstreams.get("tenants"),
                client=client,
                cache=stores.get(API_KEYS),
                internal_secret=settings.internal_secret.get_secret_value(),
                ttl=settings.api_key_cache_ttl,
            )
            app.state.session_state = SessionStateChecker(
                tenants_url=settings.upstreams.get("tenants"),
                client=client,
                cache=stores.get(SESSION_STATE),
                internal_secret=settings.internal_secret.get_secret_value(),
                ttl=settings.session_state_ttl,
                keep=settings.access_token_ttl,
            )
            app.state.openapi = OpenAPIDocuments(
                settings.upstreams, client=health_client, timeout=max(health_timeout, 2.0)
            )
            async with AsyncExitStack() as stack:
                if redis_store is not None:  # closes its connection pool on the way out
                    await stack.enter_async_context(redis_store)
                yield

    proxied = Router(
        path="/",
        route_handlers=[ProxyController],
        middleware=[
            *server_spans(),
            # OPTIONS too (Litestar skips it by default): the limiters and the auto-generated
            # OPTIONS answer read the identity; a CORS preflight has no credentials: anonymous
            DefineMiddleware(IdentityMiddleware, exclude_http_methods=()),
            *rate_limit_middleware(settings),
        ],
    )
    if "*" in (origin.strip() for origin in settings.cors_origins):
        # the API takes credentials (cookies): `*` would let every site in, so refuse to start
        raise ValueError("GATEWAY_CORS_ORIGINS may not hold '*'; list the origins")
    cors = (
        CORSConfig(
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=[
                "authorization",
                "content-type",
                "accept",
                "accept-language",
                CSRF_HEADER,
                WEB_CLIENT_HEADER,
                REQUEST_ID_HEADER,
                "idempotency-key",
            ],
            expose_headers=[
                REQUEST_ID_HEADER,
                "retry-after",
                "ratelimit-limit",
                "ratelimit-remaining",
                "ratelimit-reset",
                "ratelimit-policy",
                "www-authenticate",
            ],
        )
        if settings.cors_origins
        else None
    )
    # the local run's inbox: only there is /dev/mail anything but the SPA's "not found"
    local_only = [dev_mail] if settings.dev_mail else []
    app = Litestar(
        route_handlers=[HealthController, DocsController, proxied, *local_only, spa],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            forwarded_middleware(settings.trusted_proxies, settings.forwarded_header),
            request_id_middleware,
        ],
        before_send=[security_headers, *([dev_mail_headers] if settings.dev_mail else [])],
        cors_config=cors,
        stores=stores,
        request_max_body_size=settings.max_body_size,
        lifespan=[clients],
        state=State(
            {
                "settings": settings,
                "spa_csp": spa_csp(settings.image_origins()),
                "deny_list": DenyList(stores.get(DENY_LIST), max_ttl=settings.access_token_ttl),
                "stream_slots": StreamSlots(
                    per_tenant=settings.max_streams_per_tenant,
                    per_key=settings.max_streams_per_api_key,
                    total=settings.stream_pool_size,
                ),
                "login_delays": LoginDelays(
                    stores.get(LOGIN_FAILURES),
                    threshold=settings.login_failures_before_delay,
                    initial=settings.login_delay_initial,
                    cap=settings.login_delay_max,
                    window=settings.login_failure_window,
                ),
            }
        ),
        openapi_config=None,  # /api/openapi.json is the services' merged document
        logging_config=None,  # structlog, set up by configure_logging
    )
    return metered(app)
