"""Wiring, in one place: the render service's runtime (database, bus, outbox relay, event
consumer), the image store, the progress hub, the dispatcher and sweeper, and the web app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from pingvas_kit.http import create_app as create_service_app
from pingvas_kit.http import problem_response
from pingvas_kit.logging import get_logger
from pingvas_kit.service import ServiceRuntime

from . import consumers
from .adapters.db import metadata
from .adapters.progress import make_hub
from .adapters.s3 import ImageStore
from .adapters.work_queue import WorkQueue
from .api import account, export, generations, images, internal
from .api.deps import Context
from .catalog import load_catalog
from .domain.errors import DomainError
from .domain.jobs import Refused
from .manifest import SERVICE
from .settings import Settings
from .usecases import Dispatcher, Jobs

MIGRATIONS = Path(__file__).parent / "migrations"
ROUTERS = (generations.router, images.router, account.router, internal.router, export.router)

log = get_logger("pingvas.render")


def build_runtime(settings: Settings) -> ServiceRuntime:
    return ServiceRuntime(SERVICE, settings, metadata=metadata, migrations=MIGRATIONS)


async def _sweep_forever(jobs: Jobs, interval: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await jobs.sweep()
        except Exception as exc:  # the database may be away for a moment
            log.warning("render.sweep_failed", error=type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = build_runtime(settings)
    catalog = load_catalog(settings.catalog)
    hub = make_hub(settings.redis_url, prefix=settings.bus_prefix)
    store = ImageStore(settings)
    work_queue = WorkQueue(settings)
    dispatcher = Dispatcher(runtime, settings, work_queue, catalog=catalog)
    jobs = Jobs(
        runtime,
        settings,
        hub,
        catalog,
        poke=dispatcher.poke if settings.dispatcher_enabled else (lambda: None),
    )
    consumers.register(runtime.consumer, jobs, store)

    app = create_service_app(runtime, routers=ROUTERS)
    app.state.render = Context(runtime=runtime, jobs=jobs, hub=hub, store=store, catalog=catalog)
    app.state.dispatcher = dispatcher

    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        sweeper: asyncio.Task | None = None
        # the store before the consumer starts: tenant.deleted purges objects
        await store.start()
        try:
            await hub.start()
            if settings.create_resources:
                await store.ensure_bucket()
                await work_queue.ensure()
            async with inner(app_):
                if settings.dispatcher_enabled:
                    await dispatcher.start()
                sweeper = asyncio.create_task(
                    _sweep_forever(jobs, settings.sweep_interval_s, stop), name="render-sweeper"
                )
                try:
                    yield
                finally:
                    stop.set()
                    await asyncio.gather(sweeper, return_exceptions=True)
                    await dispatcher.stop()
        finally:
            await work_queue.close()
            await hub.close()
            await store.close()

    app.router.lifespan_context = lifespan

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        response = problem_response(
            exc.status, exc.title, type_=exc.kind, detail=exc.detail, **exc.extra
        )
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(Refused)
    async def refused(_request: Request, exc: Refused) -> JSONResponse:
        return problem_response(
            409,
            "Conflict",
            type_="job-refused",
            detail=f"The job cannot go on: {exc.reason}.",
            proceed=False,
            reason=exc.reason,
        )

    return app
