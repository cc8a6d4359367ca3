"""Alembic environment of the search service; run through pingvas_kit.migrations.upgrade."""

from pingvas_search.adapters.db import metadata

from pingvas_kit.migrations import run_env

run_env(metadata)
