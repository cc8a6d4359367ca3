"""RFC 9457 problem details."""

from __future__ import annotations

from typing import Any

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://pingvas.dev/problems/"


def problem(
    status: int, title: str, *, detail: str | None = None, type_: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (type_ or str(status)),
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    return body


#: the shape of every error answer, as OpenAPI components (pingvas_kit.http documents it)
PROBLEM_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "title": "Problem",
        "description": "An error, as RFC 9457 problem details (application/problem+json). "
        "Besides these members a problem may carry others that its `type` documents.",
        "type": "object",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {
                "type": "string",
                "format": "uri",
                "description": f"What kind of problem: {PROBLEM_BASE}<kind>, stable.",
                "examples": [PROBLEM_BASE + "not-found"],
            },
            "title": {"type": "string", "description": "A short summary of the kind."},
            "status": {"type": "integer", "description": "The HTTP status code."},
            "detail": {"type": "string", "description": "What happened this time."},
            "code": {
                "type": "string",
                "description": "A stable code to act on (the gateway's refusals: "
                "session_revoked, csrf_failed, login_delayed, too_many_streams, ...); the "
                "last part of `type` too.",
            },
            "errors": {
                "type": "array",
                "description": "For 422: each field that is not valid.",
                "items": {"$ref": "#/components/schemas/ProblemField"},
            },
        },
        "additionalProperties": True,
    },
    "ProblemField": {
        "title": "ProblemField",
        "type": "object",
        "required": ["field", "message"],
        "properties": {
            "field": {"type": "string", "description": "Where: query.limit, name, ..."},
            "message": {"type": "string"},
        },
    },
}


#: what each error status means, for the OpenAPI document
ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "The request cannot be done as sent (`detail` says why).",
    401: "No valid credentials: log in, or send an API key.",
    402: "Out of credits: the plan's allowance is spent.",
    403: "The caller may not do this (role, scope, API key instead of a person, or an "
    "unverified address).",
    404: "There is no such thing in the caller's team.",
    409: "It conflicts with the current state (`detail` says how).",
    410: "It is gone (expired or already used).",
    413: "The body is larger than the limit.",
    422: "The request is not valid: `errors` names each field and what is wrong with it.",
    429: "Too many requests: wait for `Retry-After` seconds.",
    500: "Something failed on our side.",
    502: "A service behind the gateway could not be reached.",
    503: "Not available right now (a service that is not running or not configured).",
    504: "A service behind the gateway took too long to answer.",
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status answered as application/problem+json."""
    return {
        status: {
            "description": ERROR_DESCRIPTIONS.get(status, "An error."),
            "content": {PROBLEM_JSON: {"schema": dict(PROBLEM_REF)}},
        }
        for status in statuses
    }


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Every error answer of the document as what the service really sends: problem+json
    (the handlers below), 422 included (FastAPI would say HTTPValidationError as
    application/json), 500 on every operation and 400 (a body that is not JSON) on every
    operation that takes a body."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(PROBLEM_SCHEMAS)
    for item in (document.get("paths") or {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            responses.setdefault("500", {"description": ERROR_DESCRIPTIONS[500]})
            if "requestBody" in operation:
                # a body that is not UTF-8 JSON at all is refused before validation (FastAPI)
                responses.setdefault("400", {"description": ERROR_DESCRIPTIONS[400]})
            for status, response in responses.items():
                if str(status)[:1] not in ("4", "5"):
                    continue
                code = int(status) if str(status).isdigit() else 0
                if code == 422 or response.get("description") in (None, "", "Validation Error"):
                    response["description"] = ERROR_DESCRIPTIONS.get(code, "An error.")
                response["content"] = {PROBLEM_JSON: {"schema": dict(PROBLEM_REF)}}
    text = repr(document.get("paths"))
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{unused}" not in text:
            schemas.pop(unused, None)
    return document
