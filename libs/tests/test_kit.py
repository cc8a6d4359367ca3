"""The shared kit's own behaviour: settings, secret-free logs, HTTP problems, inbox races."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest
import sqlalchemy as sa
from exo_support import create_tables, inbox, job_data, make_settings, totals
from fastapi import APIRouter
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from pingvas_contracts import ServiceSpec, envelope_of
from pingvas_contracts.events.render import JobCompleted
from pingvas_kit.db import Database
from pingvas_kit.http import create_app
from pingvas_kit.inbox import EventConsumer
from pingvas_kit.logging import configure_logging, get_logger
from pingvas_kit.messaging import inbox_table, outbox_table
from pingvas_kit.service import ServiceRuntime
from pingvas_kit.settings import ServiceSettings


class BillingLike(ServiceSettings):
    service_name = "billinglike"
    model_config = SettingsConfigDict(env_prefix="BILLINGLIKE_")


def test_each_service_reads_its_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLINGLIKE_DATABASE_URL", "postgres://app:s3cret@db.internal/pingvas")
    monkeypatch.setenv("OTHER_DATABASE_URL", "postgres://nope@x/y")
    monkeypatch.setenv("BILLINGLIKE_PORT", "9001")
    s = BillingLike()
    assert s.port == 9001
    assert s.is_postgres and s.schema_name == "billinglike"
    assert s.sqlalchemy_url() == "postgresql+asyncpg://app:s3cret@db.internal/pingvas"
    assert "s3cret" not in repr(s) and "s3cret" not in str(s.model_dump())


def test_default_database_is_a_sqlite_file_under_var(tmp_path) -> None:  # noqa: ANN001
    s = BillingLike(var_dir=tmp_path / "var")
    assert s.sqlalchemy_url() == f"sqlite+aiosqlite:///{tmp_path / 'var' / 'billinglike.db'}"
    assert (tmp_path / "var").is_dir()


def test_logs_are_json_with_context_and_never_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("billing", level="INFO", json=True)
    log = get_logger("test")
    log.info(
        "checkout.created",
        tenant_id="t-1",
        password="hunter2",
        api_key="pvk_live_abc",
        headers={"Authorization": "Bearer eyJ.secret", "accept": "json"},
        dsn_like="postgresql://app:pa55word@db/pingvas",
    )
    logging.getLogger("stdlib").warning("from stdlib token=%s", "x")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    first = lines[0]
    assert first["service"] == "billing" and first["tenant_id"] == "t-1"
    assert first["event"] == "checkout.created" and first["level"] == "info"
    text = json.dumps(lines[:1])
    for secret in ("hunter2", "pvk_live_abc", "eyJ.secret", "pa55word"):
        assert secret not in text
    assert first["headers"]["accept"] == "json"
    assert lines[1]["service"] == "billing"  # stdlib logs come out as the same JSON


class Body(BaseModel):
    width: int = Field(ge=64, le=2048)


async def test_errors_are_problem_json_without_internals(tmp_path) -> None:  # noqa: ANN001
    md = sa.MetaData()
    outbox_table(md)
    inbox_table(md)
    spec = ServiceSpec(name="quiet", context=None, description="no events")
    runtime = ServiceRuntime(
        spec, make_settings({"var_dir": tmp_path}), metadata=md, migrations=None
    )
    router = APIRouter()

    @router.post("/things")
    async def make(body: Body) -> dict:
        return {"width": body.width}

    @router.get("/boom")
    async def boom() -> dict:
        raise RuntimeError("db password is hunter2")

    app = create_app(runtime, routers=[router])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as c,
    ):
        r = await c.post("/things", json={"width": 7})
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["field"] == "width"
        r = await c.get("/boom", headers={"x-request-id": "req-123"})
        assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
        assert "hunter2" not in r.text and "Traceback" not in r.text
        r = await c.get("/readyz")
        assert r.status_code == 200 and r.json()["checks"] == {"database": "ok"}
        r = await c.get("/nowhere")
        assert r.status_code == 404 and r.json()["status"] == 404
        assert r.headers["x-request-id"]


async def test_a_method_the_path_does_not_take_is_405_naming_every_one_it_does(
    tmp_path,  # noqa: ANN001
) -> None:
    md = sa.MetaData()
    outbox_table(md)
    inbox_table(md)
    spec = ServiceSpec(name="quiet", context=None, description="no events")
    runtime = ServiceRuntime(
        spec, make_settings({"var_dir": tmp_path}), metadata=md, migrations=None
    )
    router = APIRouter()

    @router.get("/things")
    async def things() -> dict:
        return {}

    @router.post("/things")
    async def make() -> dict:  # a second route of the same path
        return {}

    app = create_app(runtime, routers=[router])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.put("/things")
        assert r.status_code == 405 and r.headers["content-type"] == "application/problem+json"
        assert r.headers["allow"] == "GET, OPTIONS, POST"
        r = await c.options("/things")
        assert r.status_code == 204 and r.headers["allow"] == "GET, OPTIONS, POST"
        assert (await c.options("/nowhere")).status_code == 404


@pytest.mark.parametrize("db_backend", ["sqlite", "postgres"], indirect=True)
async def test_the_same_event_delivered_concurrently_applies_once(db_backend: dict) -> None:
    db = Database(make_settings(db_backend))
    await create_tables(db)
    consumer = EventConsumer("ledger", db, inbox)
    calls = 0

    @consumer.on(JobCompleted)
    async def add(session, event, data) -> None:  # noqa: ANN001
        nonlocal calls
        calls += 1
        row = (
            await session.execute(sa.select(totals).where(totals.c.tenant_id == event.tenantid))
        ).first()
        await asyncio.sleep(0.05)  # widen the race window
        if row is None:
            await session.execute(
                totals.insert().values(
                    tenant_id=event.tenantid, credits=data.credits_used, events=1
                )
            )
        else:
            await session.execute(totals.update().values(credits=row.credits + data.credits_used))

    envelope = envelope_of(job_data("j-9", 5), source="producer", tenant_id="t-1")
    results = await asyncio.gather(*(consumer(envelope) for _ in range(6)), return_exceptions=True)
    assert [r for r in results if r is not None] == []
    async with db.sessionmaker() as session:
        assert (await session.execute(sa.select(totals.c.credits))).scalar_one() == 5
        assert (
            await session.execute(sa.select(sa.func.count()).select_from(inbox))
        ).scalar_one() == 1
    await db.dispose()


@pytest.mark.parametrize("bus_provision", [True, False])
async def test_bus_provision_false_leaves_the_topology_to_terraform(
    tmp_path, monkeypatch: pytest.MonkeyPatch, bus_provision: bool
) -> None:
    """On AWS (PINGVAS_BUS_PROVISION=false) a service starts without creating or changing
    a topic, queue or subscription: its role may not (deploy/terraform/access.json)."""
    from pingvas_kit import service as service_module
    from pingvas_kit.bus.base import Bus

    provisioned: list[str] = []

    class Recording(Bus):
        async def start(self): ...
        async def close(self): ...
        async def ping(self): ...
        async def provision(self):
            provisioned.append("yes")

        async def publish(self, envelopes): ...
        async def consume(self, consumer, handler, *, stop): ...
        async def dead_letters(self, consumer, *, max_messages=10):
            return []

        async def purge(self, consumer): ...

    monkeypatch.setattr(service_module, "make_bus", lambda settings, topology: Recording(topology))
    md = sa.MetaData()
    outbox_table(md)
    inbox_table(md)
    spec = ServiceSpec(
        name="quiet", context="render", description="d", publishes=(JobCompleted.TYPE,)
    )
    settings = make_settings({"var_dir": tmp_path, "bus_provision": bus_provision})
    runtime = ServiceRuntime(spec, settings, metadata=md, migrations=None)
    await runtime.start()
    try:
        assert provisioned == (["yes"] if bus_provision else [])
    finally:
        await runtime.stop()


def test_bus_provision_is_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    """One PINGVAS_BUS_PROVISION=false in the chart covers every service."""

    class Svc(ServiceSettings):
        model_config = SettingsConfigDict(env_prefix="SVC_", extra="ignore")

    monkeypatch.setenv("PINGVAS_BUS_PROVISION", "false")
    assert Svc().bus_provision is False
    monkeypatch.setenv("SVC_BUS_PROVISION", "true")
    assert Svc().bus_provision is True
