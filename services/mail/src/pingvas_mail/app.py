"""Wiring, in one place: the mail service's runtime (database, bus, outbox relay, event
consumer), its handlers, SES (the sender loop and the bounce/complaint notifications)
and the web app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI

from pingvas_kit.http import create_app as create_service_app
from pingvas_kit.service import ServiceRuntime

from . import consumers, templates
from .adapters.db import metadata
from .adapters.ses import Ses
from .api import dev, preferences, unsubscribe
from .api.deps import Context
from .manifest import SERVICE
from .settings import Settings
from .usecases.notifications import Notifications
from .usecases.sender import Sender

MIGRATIONS = Path(__file__).parent / "migrations"


def build_runtime(settings: Settings) -> ServiceRuntime:
    return ServiceRuntime(SERVICE, settings, metadata=metadata, migrations=MIGRATIONS)


def create_app(settings: Settings | None = None, *, run_sender: bool = True) -> FastAPI:
    """`run_sender=False` leaves messages pending (tests that play the sender themselves)."""
    settings = settings or Settings()
    runtime = build_runtime(settings)
    mailer = consumers.register(runtime.consumer, settings, templates.render)
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
