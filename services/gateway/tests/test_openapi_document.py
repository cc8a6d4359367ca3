"""docs/api/openapi.json, the merged public API document (scripts/export-openapi): it is what
the services' code says now, every operation says what it does, and every error answer is
documented as the problem+json the services really send."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pingvas_kit.problems import PROBLEM_JSON

REPO = Path(__file__).resolve().parents[3]
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PROBLEM_REF = "#/components/schemas/Problem"


def _export_script() -> ModuleType:
    path = REPO / "scripts" / "export-openapi"
    loader = importlib.machinery.SourceFileLoader("export_openapi", str(path))
    spec = importlib.util.spec_from_loader("export_openapi", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def export() -> ModuleType:
    return _export_script()


@pytest.fixture(scope="module")
def built(export: ModuleType) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PINGVAS_ENVIRONMENT", "test")
        return export.build()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def test_the_committed_document_is_what_the_code_says(export: ModuleType, built) -> None:
    committed = (REPO / "docs" / "api" / "openapi.json").read_text(encoding="utf-8")
    assert committed == export.render(built), (
        "docs/api/openapi.json is out of date: run `uv run python scripts/export-openapi` "
        "and commit it"
    )


def test_every_operation_has_a_summary_and_a_description(built) -> None:
    operations = _operations(built)
    assert len(operations) >= 40  # the whole public API, not a stub
    lacking = [
        f"{method} {path}: {what}"
        for method, path, operation in operations
        for what in ("summary", "description")
        if not str(operation.get(what) or "").strip()
    ]
    assert not lacking, "operations without " + "; ".join(lacking)


def test_every_error_answer_is_problem_json(built) -> None:
    schemas = built["components"]["schemas"]
    assert {"type", "title", "status"} <= set(schemas["Problem"]["required"])
    assert "HTTPValidationError" not in schemas  # FastAPI's 422 shape is not what is sent
    wrong = []
    for method, path, operation in _operations(built):
        responses = operation["responses"]
        errors = {s for s in responses if s[:1] in ("4", "5")}
        if not {"429", "500"} <= errors:
            wrong.append(f"{method} {path}: no 429/500 documented")
        for status in errors:
            content = responses[status].get("content") or {}
            schema = (content.get(PROBLEM_JSON) or {}).get("schema") or {}
            if set(content) != {PROBLEM_JSON} or schema.get("$ref") != PROBLEM_REF:
                wrong.append(f"{method} {path} {status}: {sorted(content)}")
            if not responses[status].get("description"):
                wrong.append(f"{method} {path} {status}: no description")
    assert not wrong, "\n".join(wrong)


def _conforms(body: dict[str, Any], schema: dict[str, Any], schemas: dict[str, Any]) -> list[str]:
    """The few JSON Schema rules the Problem schemas use (required, type, items' $ref)."""
    types = {"string": str, "integer": int, "array": list, "object": dict}
    problems = [f"missing {name}" for name in schema.get("required", ()) if name not in body]
    for name, value in body.items():
        rule = schema.get("properties", {}).get(name)
        if rule is None:
            continue
        if not isinstance(value, types[rule["type"]]):
            problems.append(f"{name} is not {rule['type']}")
        elif rule["type"] == "array" and "$ref" in rule.get("items", {}):
            item_schema = schemas[rule["items"]["$ref"].rsplit("/", 1)[-1]]
            for item in value:
                problems += [f"{name}[]: {p}" for p in _conforms(item, item_schema, schemas)]
    return problems


def test_the_documented_422_is_what_a_service_answers(built, monkeypatch) -> None:
    monkeypatch.setenv("PINGVAS_ENVIRONMENT", "test")
    from pingvas_mail.app import create_app

    operation = built["paths"]["/api/v1/mail/unsubscribe"]["get"]
    documented = operation["responses"]["422"]["content"]
    answer = TestClient(create_app()).get("/api/v1/mail/unsubscribe", params={"token": "x"})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert set(documented) == {PROBLEM_JSON}
    body = answer.json()
    schemas = built["components"]["schemas"]
    assert _conforms(body, schemas["Problem"], schemas) == []
    assert body["errors"] and body["errors"][0]["field"] == "query.token"
    assert json.dumps(body)  # plain JSON, nothing else
