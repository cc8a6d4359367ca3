"""Wiring, in one place: the mail service's runtime (database, bus, outbox relay, event
consumer) and its web app."""

from pathlib import Path

from fastapi import FastAPI

from pingvas_kit.http import create_app as create_service_app
from pingvas_kit.service import ServiceRuntime

from .adapters.db import metadata
from .manifest import SERVICE
from .settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def build_runtime(settings: Settings) -> ServiceRuntime:
    return ServiceRuntime(SERVICE, settings, metadata=metadata, migrations=MIGRATIONS)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(build_runtime(settings or Settings()))
