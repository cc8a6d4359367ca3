"""Alembic environment of the mail service; run through pingvas_kit.migrations.upgrade."""

from pingvas_mail.adapters.db import metadata

from pingvas_kit.migrations import run_env

run_env(metadata)
