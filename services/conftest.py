"""What every service's tests share: start the service's real app in-process, against
moto's real server and a real database, and check the backbone every service carries.

    async def test_backbone(run_service):
        async with run_service(create_app, Settings) as service:
            await service.check_backbone()
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pingvas_contracts import discover
from pingvas_kit.problems import PROBLEM_JSON
from pingvas_kit.service import ServiceRuntime
from pingvas_kit.settings import ServiceSettings

#: what the first migration of every service creates
MESSAGING_TABLES = {"outbox", "inbox", "alembic_version"}


@dataclass
class RunningService:
    app: FastAPI
    client: httpx.AsyncClient
    settings: ServiceSettings

    @property
    def runtime(self) -> ServiceRuntime:
        return self.app.state.runtime

    async def tables(self) -> set[str]:
        """The tables in the service's database, read directly (not through the service):
        its SQLite file, or its own schema on Postgres."""
        if not self.settings.is_postgres:
            path = Path(self.settings.var_dir) / f"{self.settings.service_name}.db"
            assert path.is_file(), f"no SQLite file at {path}"
            with sqlite3.connect(path) as conn:
                rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                return {name for (name,) in rows}
        import asyncpg

        url = self.settings.sqlalchemy_url().replace("postgresql+asyncpg://", "postgresql://")
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
                self.settings.schema_name,
            )
        finally:
            await conn.close()
        return {row["table_name"] for row in rows}

    async def check_backbone(self) -> None:
        """Health, readiness (database and bus), metrics, problem+json errors, the
        discoverable manifest and the migrated messaging tables."""
        name = self.settings.service_name

        health = await self.client.get("/healthz")
        assert health.status_code == 200, health.text
        assert health.json() == {"status": "ok", "service": name}

        ready = await self.client.get("/readyz")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["status"] == "ready", body
        # every service checks its database and bus; some check more (search: its engine)
        assert {"database": "ok", "bus": "ok"}.items() <= body["checks"].items(), body
        assert all(v == "ok" for v in body["checks"].values()), body

        metrics = await self.client.get("/metrics")
        assert metrics.status_code == 200
        assert "pingvas_http_requests_total" in metrics.text
        assert f'service="{name}"' in metrics.text
        # labelled by the route's template (docs/monitoring.md)
        assert any(
            line.startswith("pingvas_http_requests_total{")
            and f'service="{name}"' in line
            and 'route="/healthz"' in line
            for line in metrics.text.splitlines()
        ), metrics.text

        missing = await self.client.get("/no-such-route")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith(PROBLEM_JSON)
        assert missing.json()["status"] == 404
        assert missing.json()["title"] == "Not Found"

        assert discover()[name] == self.runtime.spec
        await self.check_migrated()

    async def check_migrated(self) -> None:
        """The first migration ran in the service's own database (or Postgres schema)."""
        tables = await self.tables()
        assert MESSAGING_TABLES <= tables, f"missing {MESSAGING_TABLES - tables}"


@pytest.fixture
def run_service(moto_endpoint: str, bus_prefix: str, tmp_path: Path) -> Callable[..., Any]:
    """A factory: `async with run_service(create_app, Settings, **overrides) as service`
    runs the app's lifespan (migrations, bus provisioning, relay, consumer) and gives an
    httpx client on it. Overrides may be `db_backend`'s dict as it is."""

    @asynccontextmanager
    async def run(
        create_app: Callable[[Any], FastAPI], settings_cls: type[ServiceSettings], **overrides: Any
    ) -> AsyncIterator[RunningService]:
        overrides.pop("backend", None)  # db_backend's label, not a setting
        settings = settings_cls(
            **{
                "aws_endpoint_url": moto_endpoint,
                "bus_prefix": bus_prefix,
                "var_dir": tmp_path,
                "bus_wait_seconds": 1,
                **overrides,
            }
        )
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        ):
            yield RunningService(app=app, client=client, settings=settings)

    return run
