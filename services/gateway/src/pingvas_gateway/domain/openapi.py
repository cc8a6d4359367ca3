"""One OpenAPI document for the public API, merged from the services' own documents.

Only /api paths are kept (a service's /healthz, /internal/... are nobody's business). A
component two services define differently is renamed `<service>_<Name>` in the later
service's document, its $refs rewritten. The gateway's security schemes are added, the
public routes are marked as needing none, and the errors the gateway itself answers with
(problem+json, like the services') are added to each operation."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from pingvas_kit.identity import HEADER as IDENTITY_HEADER
from pingvas_kit.problems import problem_responses

from .routing import is_public

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_UNSAFE = ("post", "put", "patch", "delete")

SECURITY_SCHEMES: dict[str, Any] = {
    "accessToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The access token from auth/login (15 minutes); renew it with auth/refresh.",
    },
    "apiKey": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "pvk_<prefix>_<secret>",
        "description": "An API key (`Authorization: Bearer pvk_...`), created under api-keys.",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "pv_at",
        "description": "The SPA's session (X-Pingvas-Client: web). Unsafe methods also need "
        "X-CSRF-Token equal to the pv_csrf cookie.",
    },
}
_ANY_CREDENTIALS: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]


def merge(documents: Mapping[str, dict[str, Any]], *, title: str, version: str) -> dict[str, Any]:
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": {},
        "components": {"securitySchemes": copy.deepcopy(SECURITY_SCHEMES)},
        "security": _ANY_CREDENTIALS,
        "tags": [],
    }
    components: dict[str, dict[str, Any]] = merged["components"]
    tag_names: set[str] = set()
    for service in sorted(documents):
        document = copy.deepcopy(documents[service])
        renames = _clashes(service, document.get("components") or {}, components)
        if renames:
            document = _rewrite_refs(document, renames)
        for section, entries in (document.get("components") or {}).items():
            if section == "securitySchemes" or not isinstance(entries, dict):
                continue
            target = components.setdefault(section, {})
            for name, definition in entries.items():
                target[
                    renames.get(f"#/components/{section}/{name}", str(name)).rsplit("/", 1)[-1]
                ] = definition
        for path, item in (document.get("paths") or {}).items():
            if not path.startswith("/api/"):
                continue
            merged["paths"][path] = _public_api_item(path, item)
        for tag in document.get("tags") or ():
            if isinstance(tag, dict) and tag.get("name") not in tag_names:
                tag_names.add(tag["name"])
                merged["tags"].append(tag)
    if not merged["tags"]:
        del merged["tags"]
    return merged


def _clashes(
    service: str, theirs: dict[str, Any], ours: dict[str, dict[str, Any]]
) -> dict[str, str]:
    renames: dict[str, str] = {}
    for section, entries in theirs.items():
        if section == "securitySchemes" or not isinstance(entries, dict):
            continue
        for name, definition in entries.items():
            existing = ours.get(section, {}).get(name)
            if existing is not None and existing != definition:
                renames[f"#/components/{section}/{name}"] = (
                    f"#/components/{section}/{service}_{name}"
                )
    return renames


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            k: (
                renames.get(v, v)
                if k == "$ref" and isinstance(v, str)
                else _rewrite_refs(v, renames)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(v, renames) for v in node]
    return node


def _public_api_item(path: str, item: dict[str, Any]) -> dict[str, Any]:
    """The gateway fills in the identity header: callers never send it. Public routes need
    no credentials."""
    item = dict(item)
    for method in HTTP_METHODS:
        operation = item.get(method)
        if not isinstance(operation, dict):
            continue
        operation = dict(operation)
        if "parameters" in operation:
            operation["parameters"] = [
                p
                for p in operation["parameters"]
                if not (isinstance(p, dict) and str(p.get("name", "")).lower() == IDENTITY_HEADER)
            ]
        operation.pop("security", None)
        public = is_public(method.upper(), _concrete(path))
        if public:
            operation["security"] = []
        operation["responses"] = {**_edge_errors(method, operation, public=public)} | dict(
            operation.get("responses") or {}
        )
        item[method] = operation
    return item


def _edge_errors(method: str, operation: dict[str, Any], *, public: bool) -> dict[str, Any]:
    """What the gateway may answer before (or instead of) the service: rate limits (429),
    an unreachable or slow service (502, 504); without credentials 401, and for a session's
    unsafe request without its CSRF token 403; a body over the limit 413."""
    statuses = [429, 502, 504]
    if not public:
        statuses.append(401)
        if method in _UNSAFE:
            statuses.append(403)
    if "requestBody" in operation:
        statuses.append(413)
    return {str(status): response for status, response in problem_responses(*statuses).items()}


def _concrete(path: str) -> str:
    """/api/v1/invitations/{token}/accept -> /api/v1/invitations/x/accept, for is_public."""
    return "/".join("x" if part.startswith("{") else part for part in path.split("/"))
