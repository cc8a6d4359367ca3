"""Wiring, in one place: the search service's runtime (database, bus, event consumer),
its engine (embedded or OpenSearch), the presigner and the web app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from pingvas_kit.http import create_app as create_service_app
from pingvas_kit.logging import get_logger
from pingvas_kit.service import ServiceRuntime

from . import consumers
from .adapters.db import MIGRATIONS, metadata
from .adapters.s3 import Presigner
from .api import admin, images
from .api.deps import Context
from .engine import SearchEngine, make_engine
from .manifest import SERVICE
from .settings import Settings

log = get_logger("pingvas.search")


class SearchRuntime(ServiceRuntime):
    """The kit's runtime, with the engine in /readyz."""

    engine: SearchEngine

    async def check_ready(self) -> dict[str, str]:
        checks = await super().check_ready()
        try:
            checks["engine"] = await asyncio.wait_for(self.engine.check(), 3)
        except Exception as exc:  # noqa: BLE001 - any failure is "not ready", by its name
            checks["engine"] = type(exc).__name__
        return checks


def build_runtime(settings: Settings) -> SearchRuntime:
    return SearchRuntime(SERVICE, settings, metadata=metadata, migrations=MIGRATIONS)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = build_runtime(settings)
    engine = make_engine(settings)
    runtime.engine = engine
    consumers.register(runtime.consumer, engine)
    presigner = Presigner(settings)
    app = create_service_app(runtime, routers=[images.router, admin.router])
    app.state.search = Context(runtime=runtime, engine=engine, presigner=presigner)

    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        # the engine first: the consumer writes to it as soon as the runtime starts
        await engine.start()
        await presigner.start()
        try:
            async with inner(app_):
                log.info("search.engine_ready", engine=engine.name)
                yield
        finally:
            await presigner.close()
            await engine.close()

    app.router.lifespan_context = lifespan
    return app
