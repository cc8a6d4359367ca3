"""Tenant handles (slugs) from the name a person typed."""

from __future__ import annotations

import re
import secrets
import unicodedata


def slug_base(name: str) -> str:
    """ASCII, lowercase, hyphenated, 2-30 characters; names with no Latin letters (e.g.
    Korean) fall back to `team`."""
    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_).strip("-")[:30].strip("-")
    return slug if len(slug) >= 2 else "team"


def slug_with_suffix(base: str) -> str:
    return f"{base}-{secrets.token_hex(3)}"
