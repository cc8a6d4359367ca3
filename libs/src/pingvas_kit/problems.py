"""RFC 9457 problem details."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://pingvas.dev/problems/"


#: the code of a problem that says no more than its HTTP status
STATUS_CODES: dict[int, str] = {
    400: "bad-request",
    401: "unauthorized",
    402: "payment-required",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    410: "gone",
    411: "length-required",
    413: "too-large",
    415: "unsupported-media-type",
    422: "validation-failed",
    428: "precondition-required",
    429: "rate-limited",
    500: "internal-error",
    502: "bad-gateway",
    503: "unavailable",
    504: "gateway-timeout",
}
#: a status the table above lacks
OTHER_CODE = "error"

#: Every stable `code` a problem can carry, with the status it comes with: the SPA has a
#: text for each (libs/tests/test_problem_texts.py checks web/src/i18n). A service adds
#: its own with register_codes() where it defines them (an error class, a module that
#: raises CodedHTTPException); a literal code at a raise site is found by that test too.
CODES: dict[str, int] = {code: status for status, code in STATUS_CODES.items()}
CODES[OTHER_CODE] = 500
CODES["not-ready"] = 503

#: Every `code` an item of a 422's `errors` can carry (see field_error): pydantic's error
#: types mapped to codes, then the codes services raise for one field.
FIELD_CODES: set[str] = set()


def register_codes(*codes: str, status: int = 400) -> tuple[str, ...]:
    """Make `codes` known as codes a problem of `status` can carry; returns them."""
    for code in codes:
        CODES.setdefault(code, status)
    return codes


class CodedError(Exception):
    """A refusal in a service's own (domain) terms whose `kind` is its problem's code:
    each subclass's kind is registered, with its status, as the class is defined."""

    status = 400
    title = "Bad Request"
    kind = "bad-request"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        register_codes(cls.kind, status=cls.status)


def register_field_codes(*codes: str) -> tuple[str, ...]:
    """Make `codes` known as codes an item of a 422's `errors` can carry (a
    PydanticCustomError's type, or a service's InvalidField code); returns them."""
    FIELD_CODES.update(codes)
    return codes


#: refusals every service makes, with the same code everywhere
(SCOPE_MISSING, ROLE_REQUIRED, NO_TEAM, NOT_A_PERSON) = register_codes(
    "scope-missing", "role-required", "no-team", "not-a-person", status=403
)
#: a `cursor` this API did not give out (a 422's `errors[].code` too)
(INVALID_CURSOR,) = register_field_codes(*register_codes("invalid_cursor", status=422))


def code_of(status: int, type_: str | None = None) -> str:
    return type_ or STATUS_CODES.get(status, OTHER_CODE)


def problem(
    status: int,
    title: str,
    *,
    detail: str | None = None,
    type_: str | None = None,
    code: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A problem body; its `code` is `code`, else `type_`, else the status's name, and the
    last part of `type` is that code too."""
    stable = code or code_of(status, type_)
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + stable,
        "title": title,
        "status": status,
        "code": stable,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    return body


#: pydantic's error types, as the field codes the SPA has texts for
_PYDANTIC_CODES: dict[str, str] = {
    "missing": "missing",
    "missing_argument": "missing",
    "string_too_short": "too-short",
    "string_too_long": "too-long",
    "too_short": "too-few-items",
    "too_long": "too-many-items",
    "string_pattern_mismatch": "pattern-mismatch",
    "literal_error": "not-one-of",
    "enum": "not-one-of",
    "int_parsing": "not-a-number",
    "int_type": "not-a-number",
    "int_from_float": "not-a-whole-number",
    "float_parsing": "not-a-number",
    "float_type": "not-a-number",
    "decimal_parsing": "not-a-number",
    "decimal_type": "not-a-number",
    "finite_number": "not-a-number",
    "greater_than": "must-be-above",
    "greater_than_equal": "too-small",
    "less_than": "must-be-below",
    "less_than_equal": "too-large",
    "multiple_of": "not-a-multiple",
    "string_type": "not-a-string",
    "string_unicode": "not-a-string",
    "bool_parsing": "not-a-boolean",
    "bool_type": "not-a-boolean",
    "list_type": "not-a-list",
    "set_type": "not-a-list",
    "tuple_type": "not-a-list",
    "dict_type": "not-an-object",
    "model_type": "not-an-object",
    "model_attributes_type": "not-an-object",
    "extra_forbidden": "unknown-field",
    "json_invalid": "invalid-json",
    "json_type": "invalid-json",
    "url_parsing": "not-a-url",
    "url_scheme": "not-a-url",
    "url_type": "not-a-url",
    "url_too_long": "too-long",
    "uuid_parsing": "not-a-uuid",
    "uuid_type": "not-a-uuid",
    "date_parsing": "not-a-date",
    "date_from_datetime_parsing": "not-a-date",
    "date_type": "not-a-date",
    "datetime_parsing": "not-a-date",
    "datetime_from_date_parsing": "not-a-date",
    "datetime_type": "not-a-date",
    "timezone_aware": "not-a-date",
    "value_error": "invalid",
    "assertion_error": "invalid",
}
#: a value pydantic refused for a reason the table above does not name
INVALID = "invalid"
register_field_codes(*_PYDANTIC_CODES.values(), "not-an-email")

#: the members of pydantic's `ctx` that say what was allowed, for texts like "at least 8"
_PARAMS = {
    "min_length": "min_length",
    "max_length": "max_length",
    "ge": "min",
    "gt": "above",
    "le": "max",
    "lt": "below",
    "multiple_of": "multiple_of",
    "pattern": "pattern",
    "expected": "expected",
}


def field_error(error: Mapping[str, Any]) -> dict[str, Any]:
    """One of pydantic's errors as an item of a 422's `errors`: where, a stable `code`, the
    `params` a text needs (min_length, max_length, min, max, expected, ...) and pydantic's
    English `message` (for logs and API users, not for people)."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    message = str(error.get("msg", ""))
    if kind in _PYDANTIC_CODES:
        code = _PYDANTIC_CODES[kind]
    elif kind in FIELD_CODES:  # a PydanticCustomError a service registered
        code = kind
    else:
        code = INVALID
    if kind == "value_error" and "email address" in message:
        code = "not-an-email"
    params = {
        name: ctx[key]
        for key, name in _PARAMS.items()
        if key in ctx and isinstance(ctx[key], (int, float, str)) and not isinstance(ctx[key], bool)
    }
    if isinstance(params.get("expected"), str):  # "'ko' or 'en'": the choices, no English
        params["expected"] = ", ".join(
            part.strip() for part in re.split(r",| or ", params["expected"]) if part.strip()
        )
    field = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
    item: dict[str, Any] = {"field": field, "message": message, "code": code}
    if params:
        item["params"] = params
    return item


#: the shape of every error answer, as OpenAPI components (pingvas_kit.http documents it)
PROBLEM_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "title": "Problem",
        "description": "An error, as RFC 9457 problem details (application/problem+json). "
        "Besides these members a problem may carry others that its `type` documents.",
        "type": "object",
        "required": ["type", "title", "status", "code"],
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
                "description": "A stable code to act on and to look a text up by: "
                "not-found, unauthorized, forbidden, conflict, rate-limited, "
                "validation-failed, out-of-credits, the gateway's session_revoked, "
                "csrf_failed, login_delayed, ...; the last part of `type` too.",
                "examples": ["not-found"],
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
        "required": ["field", "message", "code"],
        "properties": {
            "field": {"type": "string", "description": "Where: query.limit, name, ..."},
            "message": {
                "type": "string",
                "description": "What is wrong, in English, for logs and developers; show "
                "people a text looked up by `code`.",
            },
            "code": {
                "type": "string",
                "description": "What is wrong, stable: missing, too-short, too-long, "
                "too-few-items, too-many-items, not-a-number, too-small, too-large, "
                "pattern-mismatch, not-one-of, not-an-email, invalid, ...",
                "examples": ["too-short"],
            },
            "params": {
                "type": "object",
                "description": "What was allowed, for the text: min_length, max_length, "
                "min, max, above, below, expected, pattern, ...",
                "additionalProperties": {"type": ["string", "number"]},
                "examples": [{"min_length": 8}],
            },
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
