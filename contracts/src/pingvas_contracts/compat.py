"""Compatibility of the current schemas with the last released ones.

``released/`` holds the schema of every type as last released. A type's schema may only
change compatibly within its major version (events in flight, in DLQs and in replays
were written against the released schema, and consumers already deployed read the new
ones). Per property, recursively through nested objects, ``$defs`` and array items:

* accepted: a new optional property; new or changed descriptions, titles, examples,
  defaults; a widened enum; a loosened bound; a removed pattern.
* rejected: a removed property; a changed type (including becoming nullable or
  integer -> number); a changed format; a narrowed or newly introduced enum; a newly
  required property; a property that is no longer required; a tightened bound
  (minLength, maximum, multipleOf...); a new or changed pattern; additional
  properties forbidden; a released type whose schema disappeared.

Anything else is a new major version: a new ``.v2`` type, published beside ``.v1``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .schemagen import load_schemas

Schema = dict[str, Any]

_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")


def compare_schemas(old: Schema, new: Schema) -> list[str]:
    """Why `new` is not a compatible evolution of `old`, one ``path: reason`` line each
    (empty when it is compatible)."""
    comparer = _Comparer(old, new)
    comparer.node(old, new, "")
    return comparer.problems


def check_compatibility(released_dir: Path, current: Path | Mapping[str, Schema]) -> list[str]:
    """Compare every released schema with the current schema of the same type.

    `current` is a schema directory or a mapping ``file name -> schema`` (e.g. freshly
    generated from the models). Types that exist only in `current` (new types, new
    major versions) are fine. Returns ``<file>: <path>: <reason>`` lines."""
    released = load_schemas(released_dir)
    now = load_schemas(current) if isinstance(current, Path) else dict(current)
    problems: list[str] = []
    for name, old in released.items():
        new = now.get(name)
        if new is None:
            problems.append(
                f"{name}: released type has no current schema (a published type stays "
                "until its consumers moved to the next version; retire it with "
                "`release --force`)"
            )
            continue
        problems.extend(f"{name}: {problem}" for problem in compare_schemas(old, new))
    return problems


def release(schemas_dir: Path, released_dir: Path) -> list[str]:
    """Make ``released_dir`` an exact copy of the schema files in ``schemas_dir``.
    Returns what changed (``released <file>`` / ``retired <file>``)."""
    released_dir.mkdir(parents=True, exist_ok=True)
    current = {path.name: path for path in sorted(schemas_dir.glob("*.json"))}
    changes: list[str] = []
    for name, path in current.items():
        target = released_dir / name
        if not target.exists() or target.read_bytes() != path.read_bytes():
            shutil.copyfile(path, target)
            changes.append(f"released {name}")
    for target in sorted(released_dir.glob("*.json")):
        if target.name not in current:
            target.unlink()
            changes.append(f"retired {target.name}")
    return changes


class _Comparer:
    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self.old_root = old_root
        self.new_root = new_root
        self.problems: list[str] = []
        self._in_progress: set[tuple[str, str]] = set()

    def fail(self, path: str, reason: str) -> None:
        self.problems.append(f"{path or '(root)'}: {reason}")

    # -- structure ---------------------------------------------------------------------

    def node(self, old: Schema, new: Schema, path: str) -> None:
        key = (old.get("$ref", ""), new.get("$ref", ""))
        if key[0] and key[1]:
            if key in self._in_progress:  # recursive definition: already being compared
                return
            self._in_progress.add(key)
        try:
            self._node(old, new, path)
        finally:
            self._in_progress.discard(key)

    def _node(self, old: Schema, new: Schema, path: str) -> None:
        olds = _by_kind(_alternatives(old, self.old_root))
        news = _by_kind(_alternatives(new, self.new_root))
        if sorted(olds) != sorted(news) or any(len(olds[k]) != len(news[k]) for k in olds):
            self.fail(path, f"type changed from {_kinds(olds)} to {_kinds(news)}")
            return
        for kind, old_alts in olds.items():
            for old_alt, new_alt in zip(old_alts, news[kind], strict=True):
                self.same_kind(kind, old_alt, new_alt, path)

    def same_kind(self, kind: str, old: Schema, new: Schema, path: str) -> None:
        if old.get("format") != new.get("format"):
            self.fail(path, f"format changed from {old.get('format')} to {new.get('format')}")
        self.enum(old, new, path)
        if "pattern" in new and new["pattern"] != old.get("pattern"):
            self.fail(path, "pattern added or changed (old values may no longer match)")
        self.bounds(old, new, path)
        if kind == "object":
            self.object(old, new, path)
        elif kind == "array":
            self.array(old, new, path)

    def enum(self, old: Schema, new: Schema, path: str) -> None:
        old_values, new_values = _enum(old), _enum(new)
        if new_values is None:
            return  # no restriction now: unchanged or widened
        if old_values is None:
            self.fail(path, f"now restricted to {_show(new_values)}")
            return
        removed = [v for v in old_values if v not in new_values]
        if removed:
            self.fail(path, f"enum narrowed: {_show(removed)} removed")

    def bounds(self, old: Schema, new: Schema, path: str) -> None:
        for bound in _LOWER_BOUNDS:
            if bound in new and (bound not in old or new[bound] > old[bound]):
                self.fail(path, f"{bound} tightened from {old.get(bound)} to {new[bound]}")
        for bound in _UPPER_BOUNDS:
            if bound in new and (bound not in old or new[bound] < old[bound]):
                self.fail(path, f"{bound} tightened from {old.get(bound)} to {new[bound]}")
        if "multipleOf" in new:
            before, after = old.get("multipleOf"), new["multipleOf"]
            if before is None or (before != after and before % after != 0):
                self.fail(path, f"multipleOf tightened from {before} to {after}")

    def object(self, old: Schema, new: Schema, path: str) -> None:
        old_props: Schema = old.get("properties", {})
        new_props: Schema = new.get("properties", {})
        old_required = set(old.get("required", ()))
        new_required = set(new.get("required", ()))
        for name in old_props:
            if name not in new_props:
                self.fail(_join(path, name), "property removed")
        for name in sorted(new_required - old_required):
            what = "new property is required" if name not in old_props else "became required"
            self.fail(_join(path, name), f"{what} (older events lack it)")
        for name in sorted(old_required - new_required):
            if name in new_props:
                self.fail(_join(path, name), "no longer required (consumers rely on it)")
        for name, old_prop in old_props.items():
            if name in new_props:
                self.node(old_prop, new_props[name], _join(path, name))
        old_extra = old.get("additionalProperties", True)
        new_extra = new.get("additionalProperties", True)
        if new_extra is False and old_extra is not False:
            self.fail(path, "additional properties are no longer allowed")
        elif isinstance(old_extra, dict) and isinstance(new_extra, dict):
            self.node(old_extra, new_extra, _join(path, "*"))

    def array(self, old: Schema, new: Schema, path: str) -> None:
        old_items, new_items = old.get("items"), new.get("items")
        if isinstance(old_items, dict) and isinstance(new_items, dict):
            self.node(old_items, new_items, f"{path}[]")
        elif isinstance(new_items, dict) and not old_items:
            self.node({}, new_items, f"{path}[]")


# -- helpers -------------------------------------------------------------------------------


def _resolve(node: Schema, root: Schema) -> Schema:
    seen: set[str] = set()
    while "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            raise ValueError(f"cannot resolve $ref {ref!r}")
        seen.add(ref)
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **siblings}
    return node


def _alternatives(node: Schema, root: Schema) -> Iterator[Schema]:
    """The node as a flat list of single-type alternatives (anyOf/oneOf, type lists)."""
    node = _resolve(node, root)
    for combinator in ("anyOf", "oneOf"):
        if combinator in node:
            for alt in node[combinator]:
                yield from _alternatives(alt, root)
            return
    if "allOf" in node and len(node["allOf"]) == 1:
        merged = {**_resolve(node["allOf"][0], root)}
        merged.update({k: v for k, v in node.items() if k != "allOf"})
        yield from _alternatives(merged, root)
        return
    type_ = node.get("type")
    if isinstance(type_, list):
        for single in type_:
            yield {**node, "type": single}
        return
    yield node


def _kind(node: Schema) -> str:
    type_ = node.get("type")
    if isinstance(type_, str):
        return type_
    values = _enum(node)
    if values:
        kinds = {_json_kind(v) for v in values}
        if len(kinds) == 1:
            return kinds.pop()
    return "any"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _by_kind(alternatives: Iterator[Schema]) -> dict[str, list[Schema]]:
    grouped: dict[str, list[Schema]] = {}
    for alt in alternatives:
        grouped.setdefault(_kind(alt), []).append(alt)
    return grouped


def _enum(node: Schema) -> list[Any] | None:
    if "enum" in node:
        return list(node["enum"])
    if "const" in node:
        return [node["const"]]
    return None


def _kinds(grouped: Mapping[str, list[Schema]]) -> str:
    return " | ".join(sorted(grouped)) or "nothing"


def _show(values: list[Any]) -> str:
    return "[" + ", ".join(repr(v) for v in values) + "]"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
