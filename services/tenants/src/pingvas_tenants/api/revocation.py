"""For the gateway: is a person's access token still good? (docs/identity.md, "Revocation")

An access token carries the person's token version (`uver`) and its tenant (`tid`). A
password reset raises the version; a member's removal and a tenant's deletion end the
membership. The gateway asks here (and remembers the answer a few seconds) and refuses a
token whose `uver` is lower than `token_version`, or that names a tenant the person is no
longer a member of (`member_since` null), or that was issued before the membership began
(removed and invited again: the old token stays refused)."""

from __future__ import annotations

from fastapi import APIRouter

from pingvas_kit.identity import CurrentIdentity

from ..adapters import repository as repo
from .deps import Ctx
from .schemas import SessionState, SessionStateIn

internal = APIRouter(prefix="/internal/sessions", tags=["internal"])


@internal.post("/state")
async def session_state(body: SessionStateIn, identity: CurrentIdentity, ctx: Ctx) -> SessionState:
    """For the gateway only (it alone holds the internal secret the identity is signed with)."""
    async with ctx.db.sessionmaker() as session:
        version, since = await repo.session_state(
            session, user_id=body.user_id, tenant_id=body.tenant_id
        )
    return SessionState(
        user_exists=version is not None,
        token_version=version or 0,
        tenant_id=body.tenant_id,
        # whole seconds, rounded down, like the token's `iat`
        member_since=int(repo.aware(since).timestamp()) if since is not None else None,
    )
