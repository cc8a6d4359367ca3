"""Wiring, in one place: the billing service's runtime (database, bus, outbox relay, event
consumer), the plans, the webhook processor and its sweeps, and the web app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI

from pingvas_kit.http import create_app as create_service_app
from pingvas_kit.service import ServiceRuntime

from . import consumers
from .adapters.db import metadata
from .api import checkout, ledger, subscription, webhooks
from .api.deps import Context
from .manifest import SERVICE
from .plans import load_plans
from .settings import Settings
from .usecases.webhooks import Processor

MIGRATIONS = Path(__file__).parent / "migrations"


def build_runtime(settings: Settings) -> ServiceRuntime:
    return ServiceRuntime(SERVICE, settings, metadata=metadata, migrations=MIGRATIONS)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = build_runtime(settings)
    plans = load_plans(settings.plans_file)
    processor = Processor(runtime, settings, plans)

    consumers.register(runtime.consumer, runtime, plans)

    routers = [webhooks.router, subscription.router, ledger.router, checkout.router]
    app = create_service_app(runtime, routers=routers)
    app.state.billing = Context(runtime=runtime, plans=plans, processor=processor)
    app.state.plans = plans

    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        async with inner(app_):
            task = asyncio.create_task(processor.run(stop), name="billing-processor")
            try:
                yield
            finally:
                stop.set()
                await asyncio.gather(task, return_exceptions=True)

    app.router.lifespan_context = lifespan
    return app
