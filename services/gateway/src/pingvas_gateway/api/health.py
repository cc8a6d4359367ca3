"""Liveness of the gateway itself, readiness (every upstream service answers) and
/metrics for Prometheus (the chart's ServiceMonitor scrapes it inside the cluster; the
Ingress answers /metrics from outside with a 404)."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..adapters.upstreams import UP, upstreams_of
from .problems import problem_response


class HealthController(Controller):
    include_in_schema = False

    @get("/healthz", sync_to_thread=False)
    def healthz(self) -> dict[str, str]:
        return {"status": "ok", "service": "gateway"}

    @get("/readyz")
    async def readyz(self, state: State) -> Response:
        states = await upstreams_of(state).health()
        down = [name for name, state in states.items() if state != UP]
        if not down:
            return Response({"status": "ready", "upstreams": states})
        return problem_response(
            HTTP_503_SERVICE_UNAVAILABLE,
            "Not ready",
            type_="not-ready",
            detail=f"Not answering: {', '.join(down)}.",
            down=down,
            upstreams=states,
        )

    @get("/metrics", sync_to_thread=False)
    def metrics(self) -> Response[bytes]:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
