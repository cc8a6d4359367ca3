"""The CloudEvents envelope: round trip, type and traceparent shapes, data validation."""

from __future__ import annotations

import json
import re

import pytest
from pydantic import ValidationError

from pingvas_contracts import (
    Envelope,
    InvalidEventData,
    UnknownEventType,
    model_for,
    new_envelope,
    new_traceparent,
    validate_envelope,
)
from pingvas_contracts.envelope import TYPE_PATTERN, TYPE_SCHEMA_PATTERN
from pingvas_contracts.schemagen import envelope_schema, schema_id

TYPE = "pingvas.render.image.created.v1"


def example() -> dict:
    return model_for(TYPE).model_json_schema()["examples"][0]


def test_round_trip_keeps_every_attribute() -> None:
    env = new_envelope(TYPE, example(), source="render", tenant_id="tenant-1", subject="img")
    raw = env.to_json()
    back = Envelope.from_json(raw)
    assert back == env
    wire = json.loads(raw)
    assert wire["specversion"] == "1.0"
    assert wire["type"] == TYPE and wire["source"] == "render"
    assert wire["tenantid"] == "tenant-1"
    assert wire["dataschema"] == schema_id(TYPE)
    assert re.match(r"^\d{4}-\d\d-\d\dT", wire["time"])
    assert back.context == "render"
    assert back.trace_id == env.traceparent.split("-")[1]
    parsed = validate_envelope(back)
    assert parsed.prompt == example()["prompt"]


def test_round_trip_keeps_unicode_data() -> None:
    env = new_envelope(TYPE, example(), source="render", tenant_id="t")
    assert Envelope.from_json(env.to_json().encode()).data["prompt"].startswith("한옥")


def test_unknown_extension_attributes_survive() -> None:
    env = new_envelope(TYPE, example(), source="render", tenant_id="t")
    wire = json.loads(env.to_json()) | {"partitionkey": "t"}
    assert json.loads(Envelope.from_json(json.dumps(wire)).to_json())["partitionkey"] == "t"


@pytest.mark.parametrize(
    "bad",
    [
        "render.job.completed.v1",
        "pingvas.render.job.completed",
        "pingvas.render.job.completed.v0",
        "pingvas.Render.job.completed.v1",
        "pingvas.render.job-completed.v1",
        "pingvas.render.v1",
        "com.example.render.job.completed.v1",
    ],
)
def test_type_pattern_rejects(bad: str) -> None:
    assert not TYPE_PATTERN.match(bad)
    assert not re.match(TYPE_SCHEMA_PATTERN, bad)
    with pytest.raises(ValidationError):
        new_envelope(bad, {}, source="render", tenant_id="t")


@pytest.mark.parametrize(
    "good", ["pingvas.mail.sent.v1", "pingvas.tenants.user.password_reset_requested.v12"]
)
def test_type_pattern_accepts(good: str) -> None:
    assert TYPE_PATTERN.match(good) and re.match(TYPE_SCHEMA_PATTERN, good)


def test_traceparent_shape() -> None:
    assert re.match(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-01$", new_traceparent())
    with pytest.raises(ValidationError):
        new_envelope(TYPE, example(), source="render", tenant_id="t", traceparent="nope")


def test_envelope_with_bad_data_is_rejected_on_validation() -> None:
    env = new_envelope(TYPE, example() | {"steps": 0}, source="render", tenant_id="t")
    with pytest.raises(InvalidEventData, match="steps"):
        validate_envelope(env)
    other = new_envelope("pingvas.render.gone.v1", {}, source="render", tenant_id="t")
    with pytest.raises(UnknownEventType):
        validate_envelope(other)


def test_envelope_schema_validates_a_real_envelope() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = envelope_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    wire = json.loads(new_envelope(TYPE, example(), source="render", tenant_id="t").to_json())
    assert not list(validator.iter_errors(wire))
    assert list(validator.iter_errors(wire | {"type": "pingvas.render.bad"}))
    assert list(validator.iter_errors(wire | {"traceparent": "01-xyz"}))
