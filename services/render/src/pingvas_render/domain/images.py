"""Images as people see them: who may delete which (the team's `member_image_deletion`
setting) and the readable name a download is saved under."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote

from pingvas_kit.identity import ROLE_RANK

from .jobs import Who

ImageDeletion = Literal["own", "any"]

#: what a team that never changed the setting gets
DEFAULT_IMAGE_DELETION: ImageDeletion = "own"


def may_delete(who: Who, *, made_by_user_id: str | None, setting: ImageDeletion) -> bool:
    """Admins and owners delete any image, and so does an API key (admins make them, its
    images:write scope says it may); a member deletes the images they made, and the others'
    when the team set `any`."""
    if who.kind != "user":
        return True
    if any(ROLE_RANK.get(role, 0) >= ROLE_RANK["admin"] for role in who.roles):
        return True
    return setting == "any" or made_by_user_id == who.user_id


#: words of any script (고양이, cat, 2026), for the file name
_WORD = re.compile(r"[^\W_]+")
_MAX_WORDS, _MAX_SLUG = 8, 60


def download_name(prompt: str, created_at: datetime) -> str:
    """`pingvas-2026-12-07-a-cat-on-a-sofa.png`: the day it was made (UTC) and the prompt's
    first words, lower-cased, in their own script; `pingvas-2026-12-07.png` for a prompt
    without words."""
    day = created_at.astimezone(UTC).date().isoformat() if created_at.tzinfo else created_at.date()
    words = _WORD.findall(unicodedata.normalize("NFC", prompt).lower())[:_MAX_WORDS]
    slug = ""
    for word in words:
        longer = f"{slug}-{word}" if slug else word
        if len(longer) > _MAX_SLUG:
            break
        slug = longer
    return f"pingvas-{day}-{slug}.png" if slug else f"pingvas-{day}.png"


def attachment(filename: str) -> str:
    """A Content-Disposition that saves the file as `filename`: the UTF-8 name (RFC 6266
    `filename*`) and an ASCII one for old clients (other scripts' letters dropped)."""
    ascii_name = re.sub(r"-{2,}", "-", filename.encode("ascii", "ignore").decode())
    ascii_name = ascii_name.replace("-.png", ".png").replace('"', "")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
