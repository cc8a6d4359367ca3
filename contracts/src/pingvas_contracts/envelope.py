"""The CloudEvents 1.0 envelope (JSON structured mode) every Pingvas event travels in."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

TYPE_PATTERN = re.compile(
    r"^pingvas\.(?P<context>[a-z]+)\.(?P<name>[a-z_]+(?:\.[a-z_]+)*)\.v(?P<major>[1-9][0-9]*)$"
)
TRACEPARENT_PATTERN = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
#: the same shape as TYPE_PATTERN in ECMA-262 syntax (no named groups), for JSON Schema
TYPE_SCHEMA_PATTERN = r"^pingvas\.[a-z]+\.[a-z_]+(\.[a-z_]+)*\.v[1-9][0-9]*$"


def new_traceparent() -> str:
    """A fresh W3C trace context header value (version 00, sampled)."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


class Envelope(BaseModel):
    """A CloudEvent. `data` is validated separately, against the schema its `type` names."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: str = Field(default="1.0", pattern=r"^1\.0$")
    id: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=256)
    type: str = Field(
        description="pingvas.<context>.<name>.v<major>",
        json_schema_extra={"pattern": TYPE_SCHEMA_PATTERN},
    )
    time: datetime
    datacontenttype: str = "application/json"
    dataschema: str | None = None
    subject: str | None = None
    tenantid: str | None = Field(default=None, max_length=64)
    traceparent: str | None = Field(
        default=None,
        description="W3C trace context of the producing span",
        json_schema_extra={"pattern": TRACEPARENT_PATTERN.pattern},
    )
    data: dict[str, Any]

    @field_validator("type")
    @classmethod
    def _type_shape(cls, value: str) -> str:
        if not TYPE_PATTERN.match(value):
            raise ValueError("type must look like pingvas.<context>.<name>.v<N>")
        return value

    @field_validator("traceparent")
    @classmethod
    def _traceparent_shape(cls, value: str | None) -> str | None:
        if value is not None and not TRACEPARENT_PATTERN.match(value):
            raise ValueError("traceparent must be a W3C trace context (00-<trace>-<span>-<flags>)")
        return value

    @property
    def context(self) -> str:
        return TYPE_PATTERN.match(self.type)["context"]  # type: ignore[index]

    @property
    def trace_id(self) -> str | None:
        return self.traceparent.split("-")[1] if self.traceparent else None

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Envelope:
        return cls.model_validate_json(raw)


def new_envelope(
    type: str,
    data: dict[str, Any],
    *,
    source: str,
    tenant_id: str | None,
    traceparent: str | None = None,
    subject: str | None = None,
    event_id: str | None = None,
) -> Envelope:
    return Envelope(
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=type,
        time=datetime.now(UTC),
        tenantid=tenant_id,
        traceparent=traceparent or new_traceparent(),
        subject=subject,
        dataschema=f"https://schemas.pingvas.dev/events/{type}.json",
        data=data,
    )
