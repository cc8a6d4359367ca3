"""Who may delete which image of a team: the team's `member_image_deletion` setting."""

from __future__ import annotations

from typing import Literal

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
