"""Look up and validate events by type."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from . import events as _events  # noqa: F401  (importing registers every event model)
from .base import REGISTRY, EventData
from .envelope import Envelope


class ContractError(ValueError):
    """An event does not satisfy its contract (unknown type or data failing its schema)."""


class UnknownEventType(ContractError):
    pass


class InvalidEventData(ContractError):
    pass


def model_for(type_: str) -> type[EventData]:
    try:
        return REGISTRY[type_]
    except KeyError:
        raise UnknownEventType(f"unknown event type {type_!r}") from None


def types_of(context: str) -> tuple[str, ...]:
    """Every registered type published by one context, e.g. types_of("billing")."""
    return tuple(sorted(t for t, m in REGISTRY.items() if m.CONTEXT == context))


def validate_data(type_: str, data: dict[str, Any] | EventData) -> dict[str, Any]:
    """Validate `data` against the model of `type_` and return it as JSON-ready dict."""
    model = model_for(type_)
    if isinstance(data, EventData):
        if not isinstance(data, model):
            raise InvalidEventData(f"{type(data).__name__} is not the data model of {type_}")
        return data.model_dump(mode="json")
    try:
        return model.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        raise InvalidEventData(f"{type_}: {_summarise(exc)}") from None


def validate_envelope(envelope: Envelope) -> EventData:
    """Check an incoming envelope's data against its type; returns the parsed data."""
    model = model_for(envelope.type)
    try:
        return model.model_validate(envelope.data)
    except ValidationError as exc:
        raise InvalidEventData(f"{envelope.type}: {_summarise(exc)}") from None


def _summarise(exc: ValidationError) -> str:
    # field paths and messages only: never the offending values (they may be secrets)
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()
    ]
    return "; ".join(parts[:5])
