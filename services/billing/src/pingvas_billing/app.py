"""Wiring, in one place: the billing service's runtime (database, bus, outbox relay, event
consumer), the plans, the webhook processor and its sweeps, and the web app."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

from fastapi import FastAPI

from pingvas_kit.http import create_app as create_service_app
from pingvas_kit.logging import get_logger
from pingvas_kit.service import ServiceRuntime

from .adapters.db import metadata
from .api import subscription, webhooks
from .api.deps import Context
from .domain import tenants
from .manifest import SERVICE
from .plans import load_plans
from .processor import Processor
from .settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"

log = get_logger("pingvas.billing")


def _optional(name: str) -> ModuleType | None:
    """A module another part of billing provides, when it is there (the ledger's handlers
    and API, checkout): the service runs without it, and its consumer waits for the
    handlers it lacks (docs: README, "Consumes")."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        log.warning("billing.module_missing", module=name)
        return None


def build_runtime(settings: Settings) -> ServiceRuntime:
    return ServiceRuntime(SERVICE, settings, metadata=metadata, migrations=MIGRATIONS)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = build_runtime(settings)
    plans = load_plans(settings.plans_file)
    processor = Processor(runtime, settings, plans)

    tenants.register(runtime.consumer, runtime, plans)
    ledger_handlers = _optional("pingvas_billing.ledger_handlers")
    if ledger_handlers is not None:
        ledger_handlers.register(runtime.consumer, runtime)

    routers = [webhooks.router, subscription.router]
    for name in ("pingvas_billing.api.ledger", "pingvas_billing.api.checkout"):
        module = _optional(name)
        if module is not None:
            routers.append(module.router)

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
