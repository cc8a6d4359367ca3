"""Schema generation and the drift check (committed schemas == models)."""

from __future__ import annotations

import json
from pathlib import Path

from pingvas_contracts import REGISTRY
from pingvas_contracts.schemagen import (
    SCHEMA_DIALECT,
    default_root,
    dumps,
    generate_schemas,
    schema_drift,
    write_schemas,
)

ROOT = default_root()


def test_committed_schemas_match_the_models() -> None:
    assert schema_drift(ROOT / "schemas") == []


def test_one_file_per_type_plus_the_envelope() -> None:
    files = generate_schemas()
    assert set(files) == {f"{t}.json" for t in REGISTRY} | {"envelope.json"}


def test_schema_files_are_canonical() -> None:
    for name, text in generate_schemas().items():
        schema = json.loads(text)
        assert text.endswith("}\n") and not text.endswith("\n\n")
        assert text == dumps(schema)  # sorted keys, 2-space indent
        assert schema["$schema"] == SCHEMA_DIALECT
        assert schema["$id"] == f"https://schemas.pingvas.dev/events/{name}"
        assert schema["title"]
        if name != "envelope.json":
            assert schema["title"] == name.removesuffix(".json")
            assert schema["type"] == "object"


def test_write_schemas_then_no_drift(tmp_path: Path) -> None:
    target = tmp_path / "schemas"
    changes = write_schemas(target)
    assert len(changes) == len(REGISTRY) + 1
    assert schema_drift(target) == []
    assert write_schemas(target) == []  # idempotent


def test_drift_lists_changed_missing_and_orphan_files(contracts_copy: Path) -> None:
    schemas = contracts_copy / "schemas"
    changed = schemas / "pingvas.render.job.completed.v1.json"
    changed.write_text(changed.read_text().replace("render job id", "job id"))
    (schemas / "pingvas.mail.sent.v1.json").unlink()
    (schemas / "pingvas.render.job.exploded.v1.json").write_text("{}\n")

    problems = schema_drift(schemas)
    assert problems == [
        "schemas/pingvas.mail.sent.v1.json: missing (a model exists for it)",
        "schemas/pingvas.render.job.completed.v1.json: differs from its model",
        "schemas/pingvas.render.job.exploded.v1.json: no model defines this type",
    ]
    changes = write_schemas(schemas)
    assert "removed pingvas.render.job.exploded.v1.json" in changes
    assert schema_drift(schemas) == []
