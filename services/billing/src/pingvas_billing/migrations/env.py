"""Alembic environment of the billing service; run through pingvas_kit.migrations.upgrade."""

from pingvas_billing.adapters.db import metadata

from pingvas_kit.migrations import run_env

run_env(metadata)
