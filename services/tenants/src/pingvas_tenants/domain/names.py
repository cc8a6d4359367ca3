"""What a name of a person or a team may be, and tenant handles (slugs) from one."""

from __future__ import annotations

import re
import secrets
import unicodedata
from typing import Literal

NameProblem = Literal["name-control-characters", "name-blank"]

NAME_MESSAGES: dict[NameProblem, str] = {
    "name-control-characters": "A name cannot contain control characters.",
    "name-blank": "Enter a name with visible characters.",
}

#: letters that draw nothing: Hangul fillers, the braille blank, the Mongolian vowel separator
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")


def _invisible(char: str) -> bool:
    # spaces, format characters (zero-width space and joiners, direction marks) and marks
    # with nothing to sit on
    return char in _BLANK_LETTERS or unicodedata.category(char) in ("Zs", "Zl", "Zp", "Cf", "Mn")


def name_problem(name: str) -> NameProblem | None:
    """What makes `name` unusable as a person's or a team's name: a control character (NUL,
    a line break, escape codes: category Cc), or nothing visible at all; None when fine."""
    if any(unicodedata.category(char) == "Cc" for char in name):
        return "name-control-characters"
    if all(_invisible(char) for char in name):
        return "name-blank"
    return None


def slug_base(name: str) -> str:
    """ASCII, lowercase, hyphenated, 2-30 characters; names with no Latin letters (e.g.
    Korean) fall back to `team`."""
    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_).strip("-")[:30].strip("-")
    return slug if len(slug) >= 2 else "team"


def slug_with_suffix(base: str) -> str:
    return f"{base}-{secrets.token_hex(3)}"
