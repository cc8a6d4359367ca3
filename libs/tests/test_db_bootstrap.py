"""`python -m pingvas_kit.db_bootstrap`: a role and a schema per service, idempotent, and
one service's role cannot touch another's schema."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import asyncpg
import pytest

pytestmark = pytest.mark.postgres


def _run(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pingvas_kit.db_bootstrap"],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def _cleanup(url: str, names: list[str]) -> None:
    conn = await asyncpg.connect(url)
    try:
        for n in names:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{n}" CASCADE')
            if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", f"pingvas_{n}"):
                await conn.execute(f'DROP OWNED BY "pingvas_{n}"')
            await conn.execute(f'DROP ROLE IF EXISTS "pingvas_{n}"')
    finally:
        await conn.close()


def _as(url: str, role: str, password: str) -> str:
    return url.replace("postgresql://postgres@", f"postgresql://{role}:{password}@")


async def test_each_service_gets_its_own_role_and_schema_idempotently(postgres_url: str) -> None:
    a, b = f"bsa{uuid.uuid4().hex[:6]}", f"bsb{uuid.uuid4().hex[:6]}"
    pw_a, pw_b = "a-password-" + uuid.uuid4().hex, "b-password-" + uuid.uuid4().hex
    env = {
        "ADMIN_DATABASE_URL": postgres_url,
        f"PINGVAS_DB_BOOTSTRAP_{a.upper()}_PASSWORD": pw_a,
        f"PINGVAS_DB_BOOTSTRAP_{b.upper()}_PASSWORD": pw_b,
    }
    try:
        first = _run(env)
        assert first.returncode == 0, first.stderr
        assert pw_a not in first.stderr + first.stdout
        assert _run(env).returncode == 0  # the next upgrade's hook
        conn = await asyncpg.connect(_as(postgres_url, f"pingvas_{a}", pw_a))
        try:
            await conn.execute(f'CREATE TABLE "{a}".t (x int)')
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(f'CREATE TABLE "{b}".t (x int)')
        finally:
            await conn.close()
        # a rotated password is set on the next run
        env[f"PINGVAS_DB_BOOTSTRAP_{a.upper()}_PASSWORD"] = pw_a + "-rotated"
        assert _run(env).returncode == 0
    finally:
        await _cleanup(postgres_url, [a, b])


def test_refuses_without_an_admin_url_or_with_a_short_password() -> None:
    missing = _run({"ADMIN_DATABASE_URL": "", "PINGVAS_DB_BOOTSTRAP_X_PASSWORD": "y" * 20})
    assert missing.returncode == 1 and "ADMIN_DATABASE_URL is not set" in missing.stderr
    short = _run(
        {
            "ADMIN_DATABASE_URL": "postgresql://x@127.0.0.1:1/x",
            "PINGVAS_DB_BOOTSTRAP_X_PASSWORD": "short",
        }
    )
    assert short.returncode == 1 and "shorter than 16" in short.stderr
    assert "short\n" not in short.stderr
