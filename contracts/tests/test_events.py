"""The event models: the exact set of types, their examples, validation and secrecy."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pingvas_contracts import (
    REGISTRY,
    InvalidEventData,
    UnknownEventType,
    model_for,
    types_of,
    validate_data,
)
from pingvas_contracts.schemagen import event_schema

EXPECTED = {
    "tenants": {
        "tenant.created",
        "tenant.deleted",
        "tenant.settings_changed",
        "user.registered",
        "user.preferences_changed",
        "user.verification_requested",
        "user.password_reset_requested",
        "user.password_changed",
        "member.invited",
        "member.joined",
        "member.removed",
        "apikey.created",
        "apikey.revoked",
        "webhook.disabled",
    },
    "billing": {
        "subscription.activated",
        "subscription.changed",
        "subscription.cancelled",
        "subscription.expired",
        "payment.succeeded",
        "payment.failed",
        "credits.granted",
        "credits.expired",
        "credits.exhausted",
    },
    "render": {
        "job.queued",
        "job.started",
        "job.progressed",
        "job.completed",
        "job.failed",
        "job.cancelled",
        "image.created",
        "image.deleted",
    },
    "mail": {"sent", "bounced"},
}
ALL_TYPES = sorted(REGISTRY)


def examples(type_: str) -> list[dict[str, Any]]:
    return model_for(type_).model_json_schema()["examples"]


def test_registry_holds_exactly_the_designed_types() -> None:
    expected = {f"pingvas.{ctx}.{name}.v1" for ctx, names in EXPECTED.items() for name in names}
    assert set(REGISTRY) == expected
    for context, names in EXPECTED.items():
        assert types_of(context) == tuple(sorted(f"pingvas.{context}.{n}.v1" for n in names))
        assert all(model_for(t).CONTEXT == context for t in types_of(context))


@pytest.mark.parametrize("type_", ALL_TYPES)
def test_examples_validate_against_the_model(type_: str) -> None:
    exs = examples(type_)
    assert exs, "every event has at least one example"
    for example in exs:
        dumped = validate_data(type_, example)
        # a round trip through JSON keeps the data valid and unchanged
        assert validate_data(type_, dumped) == dumped


@pytest.mark.parametrize("type_", ALL_TYPES)
def test_examples_validate_against_the_generated_json_schema(type_: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = event_schema(type_)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    for example in schema["examples"]:
        errors = [e.message for e in validator.iter_errors(example)]
        assert not errors, errors


@pytest.mark.parametrize("type_", ALL_TYPES)
def test_every_event_and_field_is_documented(type_: str) -> None:
    schema = event_schema(type_)
    assert len(schema.get("description", "")) > 20

    def walk(node: dict[str, Any], where: str) -> None:
        for name, prop in node.get("properties", {}).items():
            assert prop.get("description"), f"{type_}: {where}{name} has no description"

    walk(schema, "")
    for name, definition in schema.get("$defs", {}).items():
        if definition.get("type") == "object":
            assert definition.get("description"), f"{type_}: $defs.{name} has no description"
            walk(definition, f"{name}.")


@pytest.mark.parametrize("type_", ALL_TYPES)
def test_no_event_carries_a_password_or_raw_key(type_: str) -> None:
    text = str(event_schema(type_)["properties"].keys()).lower()
    for forbidden in ("password", "secret", "api_key'", "raw_key", "hash"):
        assert forbidden not in text, f"{type_} has a field named like {forbidden}"


def test_token_bearing_fields_are_marked_sensitive_and_hidden_from_repr() -> None:
    sensitive = {
        type_: sorted(
            name
            for name, prop in event_schema(type_)["properties"].items()
            if prop.get("x-pingvas-sensitive")
        )
        for type_ in ALL_TYPES
    }
    assert {t: f for t, f in sensitive.items() if f} == {
        "pingvas.tenants.member.invited.v1": ["accept_url"],
        "pingvas.tenants.user.password_reset_requested.v1": ["reset_url"],
        "pingvas.tenants.user.verification_requested.v1": ["verification_url"],
    }
    for type_, fields in sensitive.items():
        for example in examples(type_):
            shown = repr(model_for(type_).model_validate(example))
            for field in fields:
                assert example[field] not in shown
        if fields:
            assert "single-use" in (model_for(type_).__doc__ or "")


def test_unknown_type_is_rejected() -> None:
    with pytest.raises(UnknownEventType):
        validate_data("pingvas.render.job.exploded.v1", {})


@pytest.mark.parametrize(
    ("type_", "change", "field"),
    [
        ("pingvas.tenants.tenant.created.v1", {"locale": "fr"}, "locale"),
        ("pingvas.tenants.tenant.created.v1", {"plan": "pro"}, "plan"),
        ("pingvas.tenants.tenant.created.v1", {"owner_email": "not-an-email"}, "owner_email"),
        ("pingvas.tenants.member.invited.v1", {"role": "superuser"}, "role"),
        (
            "pingvas.tenants.user.verification_requested.v1",
            {"expires_at": "2026-11-27T09:00:00"},
            "expires_at",
        ),
        ("pingvas.billing.credits.granted.v1", {"credits": 0}, "credits"),
        ("pingvas.billing.payment.succeeded.v1", {"currency": "usd"}, "currency"),
        ("pingvas.billing.subscription.activated.v1", {"status": "zombie"}, "status"),
        ("pingvas.render.job.queued.v1", {"credits_reserved": -1}, "credits_reserved"),
        ("pingvas.render.image.created.v1", {"width": 1001}, "width"),
        ("pingvas.render.image.created.v1", {"seed": 2**32}, "seed"),
        ("pingvas.render.image.created.v1", {"scheduler": "warp_drive"}, "scheduler"),
        ("pingvas.render.job.failed.v1", {"reason": ""}, "reason"),
        ("pingvas.mail.bounced.v1", {"kind": "bounce", "bounce_type": "soft"}, "bounce_type"),
    ],
)
def test_bad_data_is_rejected(type_: str, change: dict[str, Any], field: str) -> None:
    data = examples(type_)[0] | change
    with pytest.raises(InvalidEventData) as err:
        validate_data(type_, data)
    assert field in str(err.value)
    assert str(err.value).startswith(type_)


def test_missing_required_field_is_rejected() -> None:
    data = dict(examples("pingvas.render.job.completed.v1")[0])
    del data["credits_used"]
    with pytest.raises(InvalidEventData, match="credits_used"):
        validate_data("pingvas.render.job.completed.v1", data)


def test_nested_errors_name_the_path() -> None:
    type_ = "pingvas.render.job.queued.v1"
    data = examples(type_)[0]
    data = data | {"request": data["request"] | {"steps": 0}}
    with pytest.raises(InvalidEventData, match=r"request\.steps"):
        validate_data(type_, data)


def test_error_messages_never_echo_values() -> None:
    type_ = "pingvas.tenants.user.password_reset_requested.v1"
    secret = "https://app.pingvas.dev/reset?token=" + "S3cr3tT0k3n" * 300  # too long
    data = examples(type_)[0] | {"reset_url": secret, "email": "leaky-address"}
    with pytest.raises(InvalidEventData) as err:
        validate_data(type_, data)
    message = str(err.value)
    assert "reset_url" in message and "email" in message
    assert "S3cr3tT0k3n" not in message and "leaky-address" not in message


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    type_ = "pingvas.render.image.deleted.v1"
    data = examples(type_)[0] | {"field_from_the_future": 1}
    assert "field_from_the_future" not in validate_data(type_, data)


def test_model_instances_are_accepted_and_checked() -> None:
    type_ = "pingvas.mail.sent.v1"
    instance = model_for(type_).model_validate(examples(type_)[0])
    assert validate_data(type_, instance)["to"] == "jiwoo.kim@haneul.example"
    with pytest.raises(InvalidEventData):
        validate_data("pingvas.mail.bounced.v1", instance)


def test_timestamps_must_carry_a_timezone() -> None:
    for type_ in ALL_TYPES:
        for name, prop in event_schema(type_)["properties"].items():
            if prop.get("format") == "date-time":
                bad = examples(type_)[0] | {name: "2026-11-26T10:00:00"}
                with pytest.raises(InvalidEventData):
                    validate_data(type_, bad)


def test_type_names_follow_the_pattern() -> None:
    pattern = re.compile(r"^pingvas\.(tenants|billing|render|mail)\.[a-z_]+(\.[a-z_]+)*\.v1$")
    assert all(pattern.match(t) for t in ALL_TYPES)
