"""Wiring, in one place: the gateway's Litestar app and the clients it holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from litestar import Litestar
from litestar.datastructures import State

from .adapters.upstreams import Upstreams
from .api.health import HealthController
from .api.home import home
from .api.problems import EXCEPTION_HANDLERS
from .settings import Settings


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings()

    @asynccontextmanager
    async def upstream_client(app: Litestar) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=settings.upstream_health_timeout) as client:
            app.state.upstreams = Upstreams(
                settings.upstreams, client=client, timeout=settings.upstream_health_timeout
            )
            yield

    return Litestar(
        route_handlers=[HealthController, home],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[upstream_client],
        state=State({"settings": settings}),
        logging_config=None,  # structlog, set up by configure_logging
    )
