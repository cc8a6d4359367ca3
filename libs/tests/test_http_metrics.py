"""HTTP metrics of the kit's FastAPI app: labelled by the route's template, never by the
raw path, so a million job ids are still one series; unmatched paths share one label."""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from exo_support import make_settings
from fastapi import APIRouter
from prometheus_client.parser import text_string_to_metric_families

from pingvas_contracts import ServiceSpec
from pingvas_kit.http import create_app
from pingvas_kit.messaging import inbox_table, outbox_table
from pingvas_kit.metrics import ROUTE_HEADER, UNMATCHED
from pingvas_kit.service import ServiceRuntime


def _samples(text: str, name: str) -> list[dict[str, str]]:
    return [
        {**s.labels, "value": str(s.value)}
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    ]


async def test_requests_are_counted_by_route_template_not_by_path(tmp_path) -> None:  # noqa: ANN001
    md = sa.MetaData()
    outbox_table(md)
    inbox_table(md)
    spec = ServiceSpec(name="metered", context=None, description="no events")
    runtime = ServiceRuntime(
        spec, make_settings({"var_dir": tmp_path}), metadata=md, migrations=None
    )
    router = APIRouter(prefix="/api/v1/generations")

    @router.get("/{job_id}")
    async def one(job_id: str) -> dict:
        return {"id": job_id}

    @router.get("/{job_id}/boom")
    async def boom(job_id: str) -> dict:
        raise RuntimeError(job_id)

    app = create_app(runtime, routers=[router])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as c,
    ):
        for job_id in ("gen-a1", "gen-b2", "gen-c3"):
            r = await c.get(f"/api/v1/generations/{job_id}")
            assert r.status_code == 200
            assert r.headers[ROUTE_HEADER] == "/api/v1/generations/{job_id}"
        assert (await c.get("/api/v1/generations/gen-a1/boom")).status_code == 500
        assert (await c.get("/no/such/path/gen-z9")).status_code == 404
        text = (await c.get("/metrics")).text

    ours = [s for s in _samples(text, "pingvas_http_requests_total") if s["service"] == "metered"]
    by_route = {(s["route"], s["status"]): float(s["value"]) for s in ours}
    assert by_route[("/api/v1/generations/{job_id}", "200")] == 3
    # an unhandled error is a 500 the alerts see, under its route
    assert by_route[("/api/v1/generations/{job_id}/boom", "500")] == 1
    assert by_route[(UNMATCHED, "404")] == 1
    assert not any("gen-" in route for route, _ in by_route), by_route
    counts = {
        s["route"]: float(s["value"])
        for s in _samples(text, "pingvas_http_request_seconds_count")
        if s["service"] == "metered" and s["method"] == "GET"
    }
    assert counts["/api/v1/generations/{job_id}"] == 3
