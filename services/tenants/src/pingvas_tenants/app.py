"""Wiring, in one place: the tenants service's runtime (database, bus, outbox relay, event
consumer), its domain services and its web app."""

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from pingvas_kit.http import create_app as create_service_app
from pingvas_kit.http import problem_response
from pingvas_kit.logging import get_logger
from pingvas_kit.service import ServiceRuntime

from .adapters.db import metadata
from .api import api_keys, audit, auth, invitations, me, members, revocation, tenant
from .domain.errors import DomainError
from .domain.passwords import Passwords
from .manifest import SERVICE
from .settings import DEV_JWT_SECRET, Settings
from .usecases import Context

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
)

log = get_logger("pingvas.tenants")


def build_runtime(settings: Settings) -> ServiceRuntime:
    return ServiceRuntime(SERVICE, settings, metadata=metadata, migrations=MIGRATIONS)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    if settings.jwt_secret.get_secret_value() == DEV_JWT_SECRET:
        log.warning("tenants.dev_jwt_secret", hint="set TENANTS_JWT_SECRET outside development")
    runtime = build_runtime(settings)
    app = create_service_app(runtime, routers=ROUTERS)
    app.state.tenants = Context(
        runtime=runtime,
        passwords=Passwords(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        ),
    )

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        response = problem_response(exc.status, exc.title, type_=exc.kind, detail=exc.detail)
        response.headers.update(exc.headers)
        return response

    return app
