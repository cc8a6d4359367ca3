"""Who may change whose role, and the rule that a tenant always keeps an owner; the
platform roles of the platform's own staff."""

from __future__ import annotations

from pingvas_kit.identity import OPERATOR, ROLE_RANK
from pingvas_kit.problems import ROLE_REQUIRED, register_codes

from .errors import Conflict, Forbidden

#: the precise refusals (problem+json `code`)
(OWNER_ONLY,) = register_codes("owner-only", status=403)
(LAST_OWNER,) = register_codes("last-owner", status=409)

ROLES = ("owner", "admin", "member")
#: what `users.platform_role` may hold (null: none); granted with `pingvas-tenants operator`
PLATFORM_ROLES = (OPERATOR,)


def platform_roles(user_platform_role: str | None) -> list[str]:
    """The access token's `prl` and /me's `platform_roles` for a user's stored platform role."""
    return [user_platform_role] if user_platform_role in PLATFORM_ROLES else []


def at_least(role: str | None, needed: str) -> bool:
    return ROLE_RANK.get(role or "", 0) >= ROLE_RANK[needed]


def check_can_invite(actor_role: str, role: str) -> None:
    if not at_least(actor_role, "admin"):
        raise Forbidden("Only admins and owners can invite.", code=ROLE_REQUIRED)
    if role == "owner" and actor_role != "owner":
        raise Forbidden("Only an owner can invite an owner.", code=OWNER_ONLY)


def check_role_change(*, actor_role: str, current: str, new: str, owners: int) -> None:
    """`owners`: how many owners the tenant has now."""
    if not at_least(actor_role, "admin"):
        raise Forbidden("Only admins and owners can change roles.", code=ROLE_REQUIRED)
    if "owner" in (current, new) and actor_role != "owner":
        raise Forbidden("Only an owner can grant or take away the owner role.", code=OWNER_ONLY)
    if current == "owner" and new != "owner" and owners <= 1:
        raise Conflict("A team must keep at least one owner.", code=LAST_OWNER)


def check_removal(*, actor_role: str, is_self: bool, current: str, owners: int) -> None:
    if not is_self:
        if not at_least(actor_role, "admin"):
            raise Forbidden("Only admins and owners can remove members.", code=ROLE_REQUIRED)
        if current == "owner" and actor_role != "owner":
            raise Forbidden("Only an owner can remove an owner.", code=OWNER_ONLY)
    if current == "owner" and owners <= 1:
        raise Conflict("A team must keep at least one owner.", code=LAST_OWNER)
