"""`python -m pingvas_kit.db_bootstrap`: a role and a schema per service in the one
Postgres database (Aurora in production), before the services' migration Jobs run.

    ADMIN_DATABASE_URL=postgresql://admin:...@host:5432/pingvas
    PINGVAS_DB_BOOTSTRAP_BILLING_PASSWORD=...   # one per service

For each PINGVAS_DB_BOOTSTRAP_<SERVICE>_PASSWORD: the login role `pingvas_<service>`
(created, or its password set to this value), the schema `<service>` owned by it, and
nothing on any other service's schema. Idempotent: the chart runs it before every install
and upgrade. Passwords never reach the output."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Mapping

import asyncpg

PREFIX = "PINGVAS_DB_BOOTSTRAP_"
SUFFIX = "_PASSWORD"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


def wanted(env: Mapping[str, str]) -> dict[str, str]:
    """Service name -> password, from the environment."""
    out: dict[str, str] = {}
    for key, value in env.items():
        if key.startswith(PREFIX) and key.endswith(SUFFIX):
            name = key[len(PREFIX) : -len(SUFFIX)].lower()
            if not _NAME.match(name):
                raise SystemExit(f"db_bootstrap: {key}: not a service name")
            if len(value) < 16:
                raise SystemExit(f"db_bootstrap: {key} is shorter than 16 characters")
            out[name] = value
    return dict(sorted(out.items()))


async def bootstrap(admin_url: str, services: Mapping[str, str]) -> list[str]:
    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    done: list[str] = []
    try:
        database = await conn.fetchval("SELECT current_database()")
        for service, password in services.items():
            role = f"pingvas_{service}"
            async with conn.transaction():
                exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
                # the password as a literal quoted by Postgres itself (DDL takes no parameters)
                literal = await conn.fetchval("SELECT quote_literal($1)", password)
                verb = "ALTER" if exists else "CREATE"
                await conn.execute(f'{verb} ROLE "{role}" LOGIN PASSWORD {literal}')
                await conn.execute(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"')
                await conn.execute(
                    f'CREATE SCHEMA IF NOT EXISTS "{service}" AUTHORIZATION "{role}"'
                )
                await conn.execute(f'ALTER SCHEMA "{service}" OWNER TO "{role}"')
                await conn.execute(f'REVOKE ALL ON SCHEMA public FROM "{role}"')
            done.append(f"{role} owns schema {service}")
    finally:
        await conn.close()
    return done


def main() -> None:
    admin = os.environ.get("ADMIN_DATABASE_URL")
    if not admin:
        raise SystemExit("db_bootstrap: ADMIN_DATABASE_URL is not set")
    services = wanted(os.environ)
    if not services:
        raise SystemExit(f"db_bootstrap: no {PREFIX}<SERVICE>{SUFFIX} variables")
    for line in asyncio.run(bootstrap(admin, services)):
        print(f"db_bootstrap: {line}", file=sys.stderr)


if __name__ == "__main__":
    main()
