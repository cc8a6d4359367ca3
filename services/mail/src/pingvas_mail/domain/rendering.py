"""What a message template gives back, as the consumers and campaigns see it.

`pingvas_mail.templates.render` is the one implementation; tests pass stand-ins. The
attributes are read-only so that a frozen dataclass satisfies the protocol."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol


class Rendered(Protocol):
    @property
    def subject(self) -> str: ...

    @property
    def html(self) -> str: ...

    @property
    def text(self) -> str: ...


#: (template, locale, context) -> Rendered, as pingvas_mail.templates.render
Renderer = Callable[[str, str, Mapping[str, Any]], Rendered]
