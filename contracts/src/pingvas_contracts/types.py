"""Field types shared by several event models.

Each is an `Annotated` type so that its constraints show up in the generated JSON Schema
(and therefore in the compatibility check) exactly like a constraint written inline."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field
from pydantic.json_schema import JsonDict

#: an entity id (UUID, ULID or a prefixed id such as ``img_01J...``); never a secret
Id = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$"),
]

#: an email address (syntax only; deliverability is the mail service's concern)
Email = Annotated[
    str,
    Field(
        min_length=3,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        json_schema_extra={"format": "email"},
    ),
]

#: the languages Pingvas speaks (UI, mail templates, search analysers)
Locale = Literal["ko", "en"]

#: an absolute https URL (http only for local development hosts)
Url = Annotated[
    str,
    Field(
        min_length=8,
        max_length=2048,
        pattern=r"^https?://[^\s]+$",
        json_schema_extra={"format": "uri"},
    ),
]

#: a timezone-aware instant, serialised as RFC 3339
Timestamp = AwareDatetime

#: a role inside one tenant
Role = Literal["owner", "admin", "member", "viewer"]

#: the plan codes billing sells; a new plan is a compatible (widening) change
Plan = Literal["free", "starter", "pro", "team"]

#: a model of render's catalog, e.g. ``sdxl-base-1.0``
ModelKey = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[a-z0-9][a-z0-9._-]*$")]

#: a short human-readable name (tenant, API key, person)
DisplayName = Annotated[str, Field(min_length=1, max_length=100)]

#: JSON Schema keyword marking a field whose value must never be logged or persisted
SENSITIVE: JsonDict = {"x-pingvas-sensitive": True}
