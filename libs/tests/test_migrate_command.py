"""`python -m pingvas_<service> migrate`: the deploy's migration Job. It brings the
service's schema to head and exits, without serving."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import asyncpg
import pytest

pytestmark = pytest.mark.postgres


async def _tables(url: str, schema: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
        )
        return {r["table_name"] for r in rows}
    finally:
        await conn.close()


async def _drop(url: str, schema: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def _run(args: list[str], schema: str, url: str) -> subprocess.CompletedProcess:
    env = os.environ | {
        "BILLING_ENVIRONMENT": "test",
        "BILLING_DATABASE_URL": url,
        "BILLING_DB_SCHEMA": schema,
        "BILLING_PORT": "1",  # never bound: migrate does not serve
    }
    return subprocess.run(
        [sys.executable, "-m", "pingvas_billing", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_migrate_creates_the_schema_at_head_and_exits(postgres_url: str) -> None:
    schema = f"migrate_{uuid.uuid4().hex[:8]}"
    try:
        done = _run(["migrate"], schema, postgres_url)
        assert done.returncode == 0, done.stderr
        tables = await _tables(postgres_url, schema)
        assert {"alembic_version", "outbox", "inbox"} <= tables
        # a second run (the next upgrade's Job) changes nothing and succeeds
        again = _run(["migrate"], schema, postgres_url)
        assert again.returncode == 0, again.stderr
        assert await _tables(postgres_url, schema) == tables
    finally:
        await _drop(postgres_url, schema)


def test_an_unknown_command_is_refused_with_usage(postgres_url: str) -> None:
    done = _run(["migrat"], "unused", postgres_url)
    assert done.returncode == 2
    assert "usage: python -m pingvas_billing [migrate]" in done.stderr
