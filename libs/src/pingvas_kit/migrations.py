"""Alembic per service, run on the service's own async engine.

A service keeps `migrations/` (env.py + versions/) inside its package. Its env.py is two
lines (`from pingvas_kit.migrations import run_env; run_env(metadata)`); the first
revision calls `create_messaging_tables()` so the outbox and inbox DDL is written once.
On Postgres the schema is created first and an advisory lock keeps two replicas from
migrating at once; `alembic_version` lives in the service's schema."""

from __future__ import annotations

import zlib
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config

from .db import Database
from .messaging import messaging_metadata
from .settings import ServiceSettings


def _config(script_location: Path, schema: str | None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["schema"] = schema
    return cfg


async def upgrade(db: Database, script_location: Path, revision: str = "head") -> None:
    schema = db.schema if db.is_postgres else None
    async with db.engine.begin() as conn:
        if schema:
            lock = zlib.crc32(f"pingvas-migrate-{schema}".encode()) & 0x7FFFFFFF
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock})
            await conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))

        def _run(sync_conn: sa.Connection) -> None:
            cfg = _config(script_location, schema)
            cfg.attributes["connection"] = sync_conn
            command.upgrade(cfg, revision)

        await conn.run_sync(_run)


async def open_database(settings: ServiceSettings, script_location: Path) -> Database:
    """A service's database for a command line run beside the service: opened as the
    service opens it and migrated first, unless the settings say not to."""
    db = Database(settings)
    if settings.run_migrations:
        await upgrade(db, script_location)
    return db


async def downgrade(db: Database, script_location: Path, revision: str) -> None:
    schema = db.schema if db.is_postgres else None
    async with db.engine.begin() as conn:

        def _run(sync_conn: sa.Connection) -> None:
            cfg = _config(script_location, schema)
            cfg.attributes["connection"] = sync_conn
            command.downgrade(cfg, revision)

        await conn.run_sync(_run)


def run_env(target_metadata: sa.MetaData) -> None:
    """The body of every service's migrations/env.py."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "run migrations through pingvas_kit.migrations.upgrade (the service does at start-up)"
        )
    schema = context.config.attributes.get("schema")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table_schema=schema,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def create_messaging_tables() -> None:
    """Create the outbox and inbox tables (use in a service's first revision)."""
    from alembic import op

    md, *_ = messaging_metadata()
    md.create_all(op.get_bind())


def drop_messaging_tables() -> None:
    from alembic import op

    md, *_ = messaging_metadata()
    md.drop_all(op.get_bind())
