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
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from .http_errors import CodedHTTPException as CodedHTTPException
from .logging import bound_contextvars, get_logger
from .metrics import LATENCY, REQUESTS, ROUTE_HEADER, UNMATCHED
from .problems import PROBLEM_JSON, document_problems, field_error, problem
from .problems import problem_responses as problem_responses
from .service import ServiceRuntime
from .telemetry import instrument_fastapi

log = get_logger("pingvas.http")

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
        try:
            # trace_id: logging.py adds the current span's (telemetry.py)
            with bound_contextvars(request_id=rid):
                response = await call_next(request)
        except Exception:  # the crash handler answers 500 outside this middleware
            _observe(service, request, 500, started)
            raise
        response.headers["x-request-id"] = rid
        response.headers[ROUTE_HEADER] = _observe(service, request, response.status_code, started)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})  # 401's WWW-Authenticate, 429's Retry-After, ...
        if exc.status_code == 405:
            # Starlette's Allow names the first route of the path only (GET and POST are two)
            headers["Allow"] = _allowed_methods(app, request)
            if request.method == "OPTIONS":  # what the path takes (RFC 9110 9.3.7)
                return Response(status_code=204, headers=headers)
        detail = exc.detail if isinstance(exc.detail, str) else None
        coded = exc if isinstance(exc, CodedHTTPException) else None
        response = problem_response(
            exc.status_code,
            _title(exc.status_code),
            detail=detail,
            code=coded.code if coded else None,
            **(coded.extra if coded else {}),
        )
        response.headers.update(headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [field_error(e) for e in exc.errors()]
        return problem_response(422, "Request is not valid", detail="See errors.", errors=errors)

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


def _observe(service: str, request: Request, status: int, started: float) -> str:
    route = route_template(request)
    REQUESTS.labels(service, request.method, route, str(status)).inc()
    LATENCY.labels(service, request.method, route).observe(time.perf_counter() - started)
    return route


def route_template(request: Request) -> str:
    """The template of the route that answered (`/api/v1/generations/{job_id}`), or
    UNMATCHED: the router leaves the matched route in the scope it shares with us."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def _allowed_methods(app: FastAPI, request: Request) -> str:
    """Each method a route of this path takes: asked of the router, method by method."""
    methods = {"OPTIONS"}
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in app.router.routes):
            methods.add(method)
    return ", ".join(sorted(methods))


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
