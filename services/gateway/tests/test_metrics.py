"""The gateway's HTTP metrics: the same families as the services, labelled with the route
template of the service that answered (never the raw path), or the gateway's own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi import APIRouter
from gateway_support import _serve, access_token, bearer, gateway
from prometheus_client.parser import text_string_to_metric_families

from pingvas_contracts import ServiceSpec
from pingvas_kit.http import create_app
from pingvas_kit.messaging import inbox_table, outbox_table
from pingvas_kit.metrics import ROUTE_HEADER, UNMATCHED
from pingvas_kit.service import ServiceRuntime
from pingvas_kit.settings import ServiceSettings


class _RenderLike(ServiceSettings):
    service_name = "renderlike"


@pytest.fixture(scope="module")
def kit_render(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real kit FastAPI app (what every service is) with render's job route."""
    md = sa.MetaData()
    outbox_table(md)
    inbox_table(md)
    runtime = ServiceRuntime(
        ServiceSpec(name="renderlike", context=None, description="no events"),
        _RenderLike(var_dir=tmp_path_factory.mktemp("renderlike")),
        metadata=md,
        migrations=None,
    )
    router = APIRouter(prefix="/api/v1/generations")

    @router.get("/{job_id}")
    async def one(job_id: str) -> dict:
        return {"id": job_id}

    yield from _serve(create_app(runtime, routers=[router]))


def _requests(text: str) -> dict[tuple[str, str, str], float]:
    return {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "pingvas_http_requests_total" and s.labels["service"] == "gateway"
    }


async def test_forwarded_requests_carry_the_upstream_route_template(settings, kit_render):
    settings.upstreams["render"] = kit_render
    token = bearer(access_token(tid="tenant-metrics"))
    async with gateway(settings) as client:
        before = _requests((await client.get("/metrics")).text)
        for job_id in ("gen-m1", "gen-m2"):
            answer = await client.get(f"/api/v1/generations/{job_id}", headers=token)
            assert answer.status_code == 200 and answer.json() == {"id": job_id}
            assert ROUTE_HEADER not in answer.headers  # internal: dropped at the edge
        # no service answers this path: refused before forwarding, under the gateway's route
        assert (await client.get("/api/v1/nothing-here/x1", headers=token)).status_code == 404
        # no route takes it (only the SPA's GET matches the path): the router's own 405
        assert (await client.post("/no-route/x2")).status_code == 405
        assert (await client.get("/healthz")).status_code == 200
        after = _requests((await client.get("/metrics")).text)

    def delta(key: tuple[str, str, str]) -> float:
        return after.get(key, 0) - before.get(key, 0)

    assert delta(("GET", "/api/v1/generations/{job_id}", "200")) == 2
    assert delta(("GET", "/api/{rest}", "404")) == 1
    assert delta(("GET", "/healthz", "200")) == 1
    assert delta(("POST", UNMATCHED, "405")) == 1
    assert not any("gen-m" in route or "x1" in route for _, route, _ in after), after
