"""Wiring, in one place: the mail service's runtime (database, bus, outbox relay, event
consumer), its handlers, SES (the sender loop and the bounce/complaint notifications)
and the web app."""

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

from . import consumers
from .adapters.db import metadata
from .api import dev, preferences, unsubscribe
from .api.deps import Context
from .manifest import SERVICE
from .notifications import Notifications
from .sender import Sender
from .ses import Ses
from .settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"

log = get_logger("pingvas.mail")


def _optional(name: str) -> ModuleType | None:
    """A module another part of mail provides (the templates): the service runs without
    it, and its consumer waits for the handlers it lacks (README, "Consumes")."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        log.warning("mail.module_missing", module=name)
        return None


def build_runtime(settings: Settings) -> ServiceRuntime:
    return ServiceRuntime(SERVICE, settings, metadata=metadata, migrations=MIGRATIONS)


def create_app(settings: Settings | None = None, *, run_sender: bool = True) -> FastAPI:
    """`run_sender=False` leaves messages pending (tests that play the sender themselves)."""
    settings = settings or Settings()
    runtime = build_runtime(settings)
    templates = _optional("pingvas_mail.templates")
    mailer = consumers.register(runtime.consumer, settings, templates.render if templates else None)
    ses = Ses(settings)
    sender = Sender(runtime, settings, ses)
    notifications = Notifications(runtime, ses)

    routers = [preferences.router, unsubscribe.router]
    if settings.dev_inbox:
        routers.append(dev.router)
    app = create_service_app(runtime, routers=routers)
    app.state.mail = Context(runtime=runtime)
    app.state.mailer = mailer
    app.state.ses = ses
    app.state.sender = sender
    app.state.notifications = notifications

    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        async with inner(app_):
            await ses.start()
            tasks: list[asyncio.Task] = []
            try:
                if settings.create_resources:
                    await ses.provision()
                tasks.append(
                    asyncio.create_task(notifications.run(stop), name="mail-notifications")
                )
                if run_sender:
                    tasks.append(asyncio.create_task(sender.run(stop), name="mail-sender"))
                yield
            finally:
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)
                await ses.close()

    app.router.lifespan_context = lifespan
    return app
