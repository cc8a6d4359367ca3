"""Alembic environment of the tenants service; run through pingvas_kit.migrations.upgrade."""

from pingvas_tenants.adapters.db import metadata

from pingvas_kit.migrations import run_env

run_env(metadata)
