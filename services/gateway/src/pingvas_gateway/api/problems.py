"""RFC 9457 problem+json for every error, in the same shape as the other services'."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_429_TOO_MANY_REQUESTS, HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from pingvas_kit.logging import get_logger
from pingvas_kit.problems import INVALID, PROBLEM_JSON, problem

log = get_logger("pingvas.gateway")


def problem_response(status: int, title: str, **kw: Any) -> Response:
    return Response(problem(status, title, **kw), status_code=status, media_type=PROBLEM_JSON)


def http_error(_request: Request, exc: HTTPException) -> Response:
    title = _title(exc.status_code)
    # Litestar's default detail is the status phrase again: say it once
    detail = exc.detail if exc.detail and exc.detail != title else None
    extra: dict[str, Any] = {}
    if isinstance(exc.extra, list) and exc.extra:  # validation errors
        extra["errors"] = [_field_error(item) for item in exc.extra]
    elif isinstance(exc.extra, dict) and exc.extra.get("code"):
        # a stable code for clients to act on; the problem's type names it too
        extra["code"] = str(exc.extra["code"])
    response = problem_response(exc.status_code, title, detail=detail, **extra)
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == HTTP_429_TOO_MANY_REQUESTS and "retry-after" not in {
        k.lower() for k in response.headers
    }:
        # Litestar's rate limiter says when its window resets; RFC 9110 clients read Retry-After
        reset = (exc.headers or {}).get("RateLimit-Reset")
        response.headers["Retry-After"] = str(max(1, int(reset))) if reset else "60"
    return response


def _field_error(item: Any) -> dict[str, Any]:
    """Litestar's {key, message, source} as the services' {field, message, code}."""
    if not isinstance(item, dict):
        return {"field": "", "message": str(item), "code": INVALID}
    return {
        "field": str(item.get("key") or item.get("field") or ""),
        "message": str(item.get("message", "")),
        "code": str(item.get("code") or INVALID),
    }


def crash(_request: Request, exc: Exception) -> Response:
    # the client learns nothing about the failure; the log gets its type (and trace)
    log.exception("http.unhandled_error", error_type=type(exc).__name__)
    return problem_response(
        HTTP_500_INTERNAL_SERVER_ERROR, "Internal error", detail="Something failed on our side."
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {HTTPException: http_error, Exception: crash}


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
