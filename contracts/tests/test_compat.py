"""The compatibility check against released/: every kind of incompatible edit is
rejected, compatible ones and new major versions are accepted. All edits happen on
temporary copies."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pingvas_contracts.compat import check_compatibility, compare_schemas, release
from pingvas_contracts.schemagen import default_root, event_schema, generate_schemas

ROOT = default_root()
IMAGE = "pingvas.render.image.created.v1"
QUEUED = "pingvas.render.job.queued.v1"
ACTIVATED = "pingvas.billing.subscription.activated.v1"
COMPLETED = "pingvas.render.job.completed.v1"

Schema = dict[str, Any]


def edit(type_: str, change: Callable[[Schema], None]) -> list[str]:
    old = event_schema(type_)
    new = copy.deepcopy(old)
    change(new)
    return compare_schemas(old, new)


def test_released_schemas_are_compatible_with_the_models() -> None:
    current = {name: json.loads(text) for name, text in generate_schemas().items()}
    assert check_compatibility(ROOT / "released", current) == []


def test_identical_schemas_are_compatible() -> None:
    for name, text in generate_schemas().items():
        assert compare_schemas(json.loads(text), json.loads(text)) == [], name


# -- rejected -------------------------------------------------------------------------


def test_removed_property_is_rejected() -> None:
    def change(s: Schema) -> None:
        del s["properties"]["seed"]
        s["required"].remove("seed")

    assert edit(IMAGE, change) == ["seed: property removed"]


def test_removed_optional_property_is_rejected() -> None:
    assert edit(IMAGE, lambda s: s["properties"].pop("api_key_id")) == [
        "api_key_id: property removed"
    ]


def test_changed_type_is_rejected() -> None:
    def change(s: Schema) -> None:
        s["properties"]["seed"]["type"] = "string"

    assert edit(IMAGE, change) == ["seed: type changed from integer to string"]


def test_integer_to_number_is_rejected() -> None:
    def change(s: Schema) -> None:
        s["properties"]["steps"]["type"] = "number"

    assert edit(IMAGE, change) == ["steps: type changed from integer to number"]


def test_becoming_nullable_is_rejected() -> None:
    def change(s: Schema) -> None:
        prop = s["properties"]["seed"]
        s["properties"]["seed"] = {"anyOf": [prop, {"type": "null"}]}

    assert edit(IMAGE, change) == ["seed: type changed from integer to integer | null"]


def test_narrowed_enum_is_rejected() -> None:
    def change(s: Schema) -> None:
        s["properties"]["scheduler"]["enum"].remove("euler_a")

    assert edit(IMAGE, change) == ["scheduler: enum narrowed: ['euler_a'] removed"]


def test_new_enum_on_a_free_string_is_rejected() -> None:
    def change(s: Schema) -> None:
        s["properties"]["model"]["enum"] = ["sdxl-base-1.0"]

    assert edit(IMAGE, change) == ["model: now restricted to ['sdxl-base-1.0']"]


def test_changed_format_is_rejected() -> None:
    def change(s: Schema) -> None:
        s["properties"]["created_at"]["format"] = "date"

    assert edit(IMAGE, change) == ["created_at: format changed from date-time to date"]


def test_newly_required_field_is_rejected() -> None:
    def change(s: Schema) -> None:
        s["properties"]["nsfw_score"] = {"type": "number", "description": "new"}
        s["required"].append("nsfw_score")

    assert edit(IMAGE, change) == ["nsfw_score: new property is required (older events lack it)"]


def test_optional_field_becoming_required_is_rejected() -> None:
    assert edit(IMAGE, lambda s: s["required"].append("api_key_id")) == [
        "api_key_id: became required (older events lack it)"
    ]


def test_required_field_becoming_optional_is_rejected() -> None:
    assert edit(IMAGE, lambda s: s["required"].remove("prompt")) == [
        "prompt: no longer required (consumers rely on it)"
    ]


def test_tightened_bounds_and_patterns_are_rejected() -> None:
    def change(s: Schema) -> None:
        s["properties"]["prompt"]["maxLength"] = 500
        s["properties"]["steps"]["minimum"] = 10
        s["properties"]["png_key"]["pattern"] = "^tenants/"
        s["properties"]["width"]["multipleOf"] = 64

    assert sorted(edit(IMAGE, change)) == [
        "png_key: pattern added or changed (old values may no longer match)",
        "prompt: maxLength tightened from 2000 to 500",
        "steps: minimum tightened from 1 to 10",
        "width: multipleOf tightened from 8 to 64",
    ]


def test_changes_inside_nested_objects_are_found() -> None:
    def change(s: Schema) -> None:
        request = s["$defs"]["GenerationRequest"]
        del request["properties"]["negative_prompt"]
        request["properties"]["width"]["type"] = "string"

    assert edit(QUEUED, change) == [
        "request.negative_prompt: property removed",
        "request.width: type changed from integer to string",
    ]


def test_changes_inside_nullable_nested_objects_are_found() -> None:
    def change(s: Schema) -> None:
        s["$defs"]["LemonSqueezyRef"]["required"].append("order_id")

    assert edit(ACTIVATED, change) == [
        "lemon_squeezy.order_id: became required (older events lack it)"
    ]


def test_changes_inside_array_items_are_found() -> None:
    def change(s: Schema) -> None:
        s["properties"]["image_ids"]["items"]["maxLength"] = 36

    assert edit(COMPLETED, change) == ["image_ids[]: maxLength tightened from 64 to 36"]


def test_forbidding_additional_properties_is_rejected() -> None:
    def change(s: Schema) -> None:
        s["additionalProperties"] = False

    assert edit(IMAGE, change) == ["(root): additional properties are no longer allowed"]


# -- accepted -------------------------------------------------------------------------


def test_added_optional_property_and_new_descriptions_are_accepted() -> None:
    def change(s: Schema) -> None:
        s["properties"]["nsfw_score"] = {
            "anyOf": [{"type": "number", "minimum": 0, "maximum": 1}, {"type": "null"}],
            "default": None,
            "description": "moderation score",
        }
        s["properties"]["prompt"]["description"] = "the prompt, as typed"
        s["description"] = "reworded"
        s["examples"] = []
        s["$defs"] = {"Unused": {"type": "object", "properties": {}}}

    assert edit(IMAGE, change) == []


def test_widened_enum_and_loosened_bounds_are_accepted() -> None:
    def change(s: Schema) -> None:
        s["properties"]["scheduler"]["enum"].append("flow_match_euler")
        s["properties"]["prompt"]["maxLength"] = 4000
        s["properties"]["steps"]["minimum"] = 0
        s["properties"]["width"]["multipleOf"] = 4
        del s["properties"]["png_key"]["pattern"]

    assert edit(IMAGE, change) == []


def test_recursive_definitions_terminate() -> None:
    node = {
        "$defs": {
            "Tree": {
                "type": "object",
                "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Tree"}}},
            }
        },
        "$ref": "#/$defs/Tree",
    }
    assert compare_schemas(node, copy.deepcopy(node)) == []


# -- directories ----------------------------------------------------------------------


def test_disappeared_released_type_is_rejected(contracts_copy: Path) -> None:
    (contracts_copy / "schemas" / f"{IMAGE}.json").unlink()
    problems = check_compatibility(contracts_copy / "released", contracts_copy / "schemas")
    assert len(problems) == 1
    assert problems[0].startswith(f"{IMAGE}.json: released type has no current schema")


def test_incompatible_edit_of_a_file_is_reported_with_its_name(contracts_copy: Path) -> None:
    path = contracts_copy / "schemas" / f"{IMAGE}.json"
    schema = json.loads(path.read_text())
    schema["properties"]["seed"]["type"] = "string"
    path.write_text(json.dumps(schema))
    assert check_compatibility(contracts_copy / "released", contracts_copy / "schemas") == [
        f"{IMAGE}.json: seed: type changed from integer to string"
    ]


def test_new_major_version_is_accepted(contracts_copy: Path) -> None:
    schemas = contracts_copy / "schemas"
    v2 = json.loads((schemas / f"{IMAGE}.json").read_text())
    v2["properties"]["seed"]["type"] = "string"  # incompatible, but a new type
    v2["$id"] = v2["$id"].replace(".v1.", ".v2.")
    (schemas / "pingvas.render.image.created.v2.json").write_text(json.dumps(v2))
    assert check_compatibility(contracts_copy / "released", schemas) == []


def test_release_mirrors_schemas_into_released(contracts_copy: Path) -> None:
    schemas, released = contracts_copy / "schemas", contracts_copy / "released"
    assert release(schemas, released) == []  # the committed copy is already released
    (schemas / "pingvas.render.image.created.v2.json").write_text("{}\n")
    (schemas / f"{IMAGE}.json").unlink()
    assert release(schemas, released) == [
        "released pingvas.render.image.created.v2.json",
        f"retired {IMAGE}.json",
    ]
    assert sorted(p.name for p in released.iterdir()) == sorted(p.name for p in schemas.iterdir())


@pytest.mark.parametrize("name", ["envelope.json"])
def test_envelope_is_released_too(name: str) -> None:
    assert (ROOT / "released" / name).exists()
