"""JSON Schemas generated from the event models (the single source of truth).

Each registered type becomes ``schemas/<type>.json``; the CloudEvents envelope becomes
``schemas/envelope.json``. The files are committed so that non-Python consumers (the SPA,
partners, CI) can read them, and the drift check proves they still match the models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .base import REGISTRY
from .envelope import Envelope
from .registry import model_for

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE_URL = "https://schemas.pingvas.dev/events/"
ENVELOPE_FILE = "envelope.json"


def schema_id(type_: str) -> str:
    """The `$id` of an event type's schema (also the envelope's `dataschema`)."""
    return f"{SCHEMA_BASE_URL}{type_}.json"


def schema_file(type_: str) -> str:
    """File name of an event type's schema inside ``schemas/`` and ``released/``."""
    return f"{type_}.json"


def event_schema(type_: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one event type's `data`."""
    model = model_for(type_)
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = SCHEMA_DIALECT
    schema["$id"] = schema_id(type_)
    schema["title"] = type_
    schema["x-pingvas-context"] = model.CONTEXT
    return schema


def envelope_schema() -> dict[str, Any]:
    """The JSON Schema of the CloudEvents envelope every event travels in."""
    schema = Envelope.model_json_schema(mode="validation")
    schema["$schema"] = SCHEMA_DIALECT
    schema["$id"] = f"{SCHEMA_BASE_URL}{ENVELOPE_FILE}"
    schema["title"] = "Pingvas CloudEvents envelope"
    return schema


def dumps(schema: dict[str, Any]) -> str:
    """The canonical text of a schema file: 2-space indent, sorted keys, final newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate_schemas() -> dict[str, str]:
    """Every schema file's name -> its canonical text, generated in memory."""
    files = {ENVELOPE_FILE: dumps(envelope_schema())}
    for type_ in sorted(REGISTRY):
        files[schema_file(type_)] = dumps(event_schema(type_))
    return files


def write_schemas(schemas_dir: Path) -> list[str]:
    """(Re)write ``schemas_dir`` to match the models; removes schema files with no model.
    Returns what changed, as ``written <file>`` / ``removed <file>`` lines."""
    schemas_dir.mkdir(parents=True, exist_ok=True)
    wanted = generate_schemas()
    changes: list[str] = []
    for name, text in wanted.items():
        path = schemas_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changes.append(f"written {name}")
    for path in sorted(schemas_dir.glob("*.json")):
        if path.name not in wanted:
            path.unlink()
            changes.append(f"removed {path.name}")
    return changes


def schema_drift(schemas_dir: Path) -> list[str]:
    """Differences between the committed schema files and the models, one line each
    (empty when they match). Nothing is written."""
    wanted = generate_schemas()
    problems: list[str] = []
    for name, text in wanted.items():
        path = schemas_dir / name
        if not path.exists():
            problems.append(f"schemas/{name}: missing (a model exists for it)")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"schemas/{name}: differs from its model")
    if schemas_dir.is_dir():
        for path in sorted(schemas_dir.glob("*.json")):
            if path.name not in wanted:
                problems.append(f"schemas/{path.name}: no model defines this type")
    return problems


def load_schemas(directory: Path) -> dict[str, dict[str, Any]]:
    """Every ``*.json`` schema in a directory, by file name."""
    if not directory.is_dir():
        return {}
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob("*.json"))
    }


def default_root() -> Path:
    """The ``contracts/`` directory of the source checkout this package runs from
    (falls back to ``./contracts`` under the current directory)."""
    here = Path(__file__).resolve().parents[2]
    if (here / "pyproject.toml").exists() and (here / "src" / "pingvas_contracts").is_dir():
        return here
    return Path.cwd() / "contracts"
