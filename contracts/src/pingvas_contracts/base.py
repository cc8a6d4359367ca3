"""Event data models: the one source of truth the JSON Schemas are generated from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import JsonValue

from .envelope import TYPE_PATTERN

#: every known event type -> its data model; filled by the @event decorator
REGISTRY: dict[str, type[EventData]] = {}


class EventData(BaseModel):
    """Base of every event's `data`. Unknown fields are ignored so that adding a field
    (a compatible change) never breaks an older consumer."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    #: set by @event
    TYPE: ClassVar[str]
    CONTEXT: ClassVar[str]
    EXAMPLES: ClassVar[tuple[dict[str, Any], ...]]


M = TypeVar("M", bound=EventData)


def event(type_: str, *, examples: list[dict[str, Any]]) -> Callable[[type[M]], type[M]]:
    """Register an event data model under its CloudEvents `type`, with its examples."""

    match = TYPE_PATTERN.match(type_)
    if not match:
        raise ValueError(f"bad event type {type_!r}")
    if not examples:
        raise ValueError(f"{type_}: every event needs at least one example")

    def wrap(cls: type[M]) -> type[M]:
        if type_ in REGISTRY:
            raise ValueError(f"{type_} registered twice")
        cls.TYPE = type_
        cls.CONTEXT = match["context"]
        cls.EXAMPLES = tuple(examples)
        schema_examples: list[JsonValue] = [*examples]
        cls.model_config["json_schema_extra"] = {"examples": schema_examples}
        cls.model_rebuild(force=True)
        REGISTRY[type_] = cls
        return cls

    return wrap
