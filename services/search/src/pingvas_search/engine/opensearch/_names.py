"""The template, index and alias names of one index prefix `P` (see the package).

Only names this module accepts are ever sent: a prefix of lower-case letters, digits,
'-', '_' or '.', and generation numbers of at most nine digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PREFIX_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,150}$")


@dataclass(frozen=True)
class Names:
    """The template, index and alias names of one index prefix."""

    prefix: str

    def __post_init__(self) -> None:
        if not _PREFIX_RE.match(self.prefix):
            raise ValueError("the index prefix must be lower-case letters, digits, '-', '_' or '.'")

    @property
    def template(self) -> str:
        return f"{self.prefix}-template"

    @property
    def pattern(self) -> str:
        return f"{self.prefix}-g*"

    @property
    def read(self) -> str:
        return f"{self.prefix}-read"

    @property
    def write(self) -> str:
        return f"{self.prefix}-write"

    def generation(self, number: int) -> str:
        return f"{self.prefix}-g{number}"

    def number(self, index: str) -> int | None:
        """The generation number of one of our indexes, else None."""
        m = re.fullmatch(re.escape(self.prefix) + r"-g([0-9]{1,9})", index)
        return int(m.group(1)) if m else None

    def write_alias(self, generation: str) -> str:
        """The alias through which that generation takes writes (while it is a target)."""
        number = self.number(generation)
        if number is None:
            raise ValueError(f"{generation!r} is not a generation of {self.prefix!r}")
        return f"{self.prefix}-write-g{number}"
