"""The FastAPI app every Python service starts from: /healthz, /readyz, /metrics, request
ids and trace context bound into logs, and RFC 9457 problem+json for every error."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from .logging import bound_contextvars, get_logger
from .problems import PROBLEM_JSON, document_problems, problem
from .problems import problem_responses as problem_responses
from .service import ServiceRuntime
from .telemetry import instrument_fastapi

log = get_logger("pingvas.http")

REQUESTS = Counter("pingvas_http_requests_total", "HTTP requests", ["service", "method", "status"])
LATENCY = Histogram("pingvas_http_request_seconds", "HTTP request latency", ["service", "method"])
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def problem_response(status: int, title: str, **kw) -> JSONResponse:
    return JSONResponse(problem(status, title, **kw), status_code=status, media_type=PROBLEM_JSON)


def create_app(
    runtime: ServiceRuntime, *, routers: Sequence[APIRouter] = (), title: str | None = None
) -> FastAPI:
    service = runtime.spec.name

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            await runtime.start()
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title or f"Pingvas {service}", lifespan=lifespan)
    app.state.runtime = runtime

    @app.middleware("http")
    async def context(request: Request, call_next):
        rid = request.headers.get("x-request-id", "")
        rid = rid if _REQUEST_ID.match(rid) else uuid.uuid4().hex
        started = time.perf_counter()
        # trace_id: logging.py adds the current span's (telemetry.py)
        with bound_contextvars(request_id=rid):
            response = await call_next(request)
        response.headers["x-request-id"] = rid
        REQUESTS.labels(service, request.method, str(response.status_code)).inc()
        LATENCY.labels(service, request.method).observe(time.perf_counter() - started)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(exc.status_code, _title(exc.status_code), detail=detail)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
            for e in exc.errors()
        ]
        return problem_response(
            422, "Request is not valid", type_="validation", detail="See errors.", errors=errors
        )

    @app.exception_handler(Exception)
    async def crash(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("http.unhandled_error", error_type=type(exc).__name__)
        return problem_response(500, "Internal error", detail="Something failed on our side.")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        checks = await runtime.check_ready()
        if all(v == "ok" for v in checks.values()):
            return JSONResponse({"status": "ready", "checks": checks})
        return problem_response(503, "Not ready", type_="not-ready", checks=checks)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)

    fastapi_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(fastapi_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    instrument_fastapi(app)
    return app


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
