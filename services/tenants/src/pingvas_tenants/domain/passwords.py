"""The password rule and argon2id hashing.

The rule: 10 to 128 characters, not one of the bundled common passwords (nor one with digits
or symbols around it, nor one typed twice), and not containing the person's email local part
or name. Nothing is looked up over the network."""

from __future__ import annotations

import re
import string
import unicodedata
from functools import cache
from importlib import resources
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import Invalid

#: the one password rule: sign-up, invitation, reset and change all check it, and
#: GET /api/v1/auth/password-policy serves it to the SPA for its hint and its own check
MIN_LENGTH = 10
MAX_LENGTH = 128
#: shorter than these, a whole name or local part ("김지우", "ada") and a word of either
#: ("kim") are not looked for in a password: too many ordinary words contain them
_PERSONAL_WHOLE_MIN = 3
_PERSONAL_WORD_MIN = 4

PasswordProblem = Literal[
    "password-too-short",
    "password-too-long",
    "password-too-weak",
    "password-contains-personal",
]

MESSAGES: dict[PasswordProblem, str] = {
    "password-too-short": f"Use at least {MIN_LENGTH} characters.",
    "password-too-long": f"Use at most {MAX_LENGTH} characters.",
    "password-too-weak": "This password is too common and easy to guess. Choose another.",
    "password-contains-personal": "The password must not contain your name or email address.",
}


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list (common-passwords.txt, lower case), read once."""
    text = resources.files(__package__).joinpath("common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _is_common(password: str) -> bool:
    lowered = password.lower()
    if len(set(lowered)) <= 2:  # "aaaaaaaaaa", "abababababab"
        return True
    words = common_passwords()
    # "dragon2024!", "!!password", "1q2w3e4r" + "!": the common part with digits around it
    around = string.digits + string.punctuation + " "
    core = lowered.strip(around)
    if {lowered, core, lowered.rstrip(around), lowered.lstrip(around)} & words:
        return True
    # a common password typed twice or more ("qwertyqwerty")
    for size in range(4, len(core) // 2 + 1):
        if len(core) % size == 0 and core[:size] * (len(core) // size) == core:
            return core[:size] in words or len(set(core[:size])) <= 2
    return False


def _personal_parts(email: str | None, name: str | None) -> list[str]:
    wholes, words = [], []
    if email:
        local = unicodedata.normalize("NFKC", email.split("@", 1)[0]).lower()
        wholes.append(local)
        words.extend(re.split(r"[._+\-]+", local))
    if name:
        lowered = unicodedata.normalize("NFKC", name).lower()
        wholes.append(re.sub(r"\s+", "", lowered))
        words.extend(re.split(r"[\s._\-]+", lowered))
    return [w for w in wholes if len(w) >= _PERSONAL_WHOLE_MIN] + [
        w for w in words if len(w) >= _PERSONAL_WORD_MIN
    ]


def password_problem(
    password: str, *, email: str | None = None, name: str | None = None
) -> PasswordProblem | None:
    """What is wrong with `password` for this person (their address and name), by the one
    rule; None when it is acceptable. Checked in this order, so the answer names the first
    rule a person would fix."""
    if len(password) < MIN_LENGTH:
        return "password-too-short"
    if len(password) > MAX_LENGTH:
        return "password-too-long"
    folded = unicodedata.normalize("NFKC", password).lower()
    if any(part in folded for part in _personal_parts(email, name)):
        return "password-contains-personal"
    if _is_common(password):
        return "password-too-weak"
    return None


def require_acceptable(password: str, *, email: str | None = None, name: str | None = None) -> None:
    """Invalid (422, `code` the rule's, about the field `password`) unless acceptable."""
    problem = password_problem(password, email=email, name=name)
    if problem is not None:
        raise Invalid(MESSAGES[problem], code=problem, field="password")


def policy() -> dict[str, object]:
    """The rule as GET /api/v1/auth/password-policy serves it."""
    return {
        "min_length": MIN_LENGTH,
        "max_length": MAX_LENGTH,
        "refuses_common": True,
        "refuses_personal": True,
    }


class Passwords:
    """argon2id hashes. Verifying an unknown user's login hashes against a dummy so that a
    wrong email and a wrong password take the same time."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        self._dummy = self._hasher.hash("dummy password for timing only")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)
