"""Alembic environment of the render service; run through pingvas_kit.migrations.upgrade."""

from pingvas_render.adapters.db import metadata

from pingvas_kit.migrations import run_env

run_env(metadata)
