"""Wiring, in one place: the tenants service's runtime (database, bus, outbox relay, event
consumer), its domain services and its web app."""

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from pingvas_kit.http import create_app as create_service_app
from pingvas_kit.http import problem_response
from pingvas_kit.logging import get_logger
from pingvas_kit.problems import field_error, register_field_codes
from pingvas_kit.service import ServiceRuntime

from . import consumers
from .adapters.db import metadata
from .adapters.public_api import PublicApi
from .api import api_keys, audit, auth, invitations, me, members, revocation, tenant, webhooks
from .domain.errors import DomainError
from .domain.names import NAME_MESSAGES
from .domain.passwords import Passwords
from .manifest import SERVICE
from .settings import DEV_JWT_SECRET, Settings
from .usecases import Context
from .usecases.webhooks import WebhookSender

#: a name's own refusals, a code per field like the kit's (problem.field.<code>)
register_field_codes(*NAME_MESSAGES)

MIGRATIONS = Path(__file__).parent / "migrations"
ROUTERS = (
    auth.router,
    me.router,
    members.router,
    invitations.router,
    api_keys.router,
    api_keys.internal,
    revocation.internal,
    audit.router,
    tenant.router,
    webhooks.router,
)

log = get_logger("pingvas.tenants")


def build_runtime(settings: Settings) -> ServiceRuntime:
    return ServiceRuntime(SERVICE, settings, metadata=metadata, migrations=MIGRATIONS)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    if settings.jwt_secret.get_secret_value() == DEV_JWT_SECRET:
        log.warning("tenants.dev_jwt_secret", hint="set TENANTS_JWT_SECRET outside development")
    runtime = build_runtime(settings)
    public_api = PublicApi(
        {"render": settings.render_url, "billing": settings.billing_url},
        settings.internal_secret.get_secret_value(),
    )
    app = create_service_app(runtime, routers=ROUTERS)
    ctx = app.state.tenants = Context(
        runtime=runtime,
        passwords=Passwords(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        ),
        public_api=public_api,
    )
    sender = app.state.webhook_sender = WebhookSender(ctx)
    ctx.wake_sender = sender.wake
    consumers.register(runtime.consumer, public_api, sender.wake)
    if settings.webhook_allow_private:
        log.warning(
            "tenants.webhooks_to_private_addresses",
            hint="local run: webhooks may go to loopback and private addresses "
            "(TENANTS_WEBHOOK_ALLOW_PRIVATE); production refuses them",
        )

    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        async with inner(app_):
            task = None
            if settings.run_webhook_sender:
                task = asyncio.create_task(sender.run(stop), name="webhook-sender")
            try:
                yield
            finally:
                stop.set()
                if task is not None:
                    await asyncio.gather(task, return_exceptions=True)
                await public_api.close()

    app.router.lifespan_context = lifespan

    kit_validation_error = app.exception_handlers[RequestValidationError]

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        """The kit's 422, except that a rule of this service's own (a name's) answers with
        its code, as a DomainError would."""
        errors = exc.errors()
        own = [e for e in errors if e["type"] in NAME_MESSAGES]
        if not own:
            answer = kit_validation_error(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        code = own[0]["type"]
        return problem_response(
            422,
            "Request is not valid",
            type_=code,
            detail=NAME_MESSAGES[code],
            code=code,
            errors=[field_error(e) for e in errors],
        )

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        extra = {}
        if exc.field:
            extra["errors"] = [{"field": exc.field, "message": exc.detail, "code": exc.kind}]
        response = problem_response(
            exc.status, exc.title, type_=exc.kind, detail=exc.detail, code=exc.kind, **extra
        )
        response.headers.update(exc.headers)
        return response

    return app
