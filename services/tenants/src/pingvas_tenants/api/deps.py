"""Dependencies as Annotated aliases that read like English: `ctx: Ctx`, `me: Admin`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from pingvas_kit.identity import CurrentIdentity, Identity, TenantIdentity
from pingvas_kit.problems import NOT_A_PERSON, ROLE_REQUIRED

from ..adapters import repository as repo
from ..domain.errors import Forbidden, NotAuthenticated
from ..domain.roles import at_least
from ..usecases import Context


def _context(request: Request) -> Context:
    return request.app.state.tenants


Ctx = Annotated[Context, Depends(_context)]


async def _person(identity: CurrentIdentity) -> Identity:
    """A logged-in person, in any tenant or none: anonymous is 401, an API key 403."""
    if identity.kind == "anonymous":
        raise NotAuthenticated("Log in first.")
    if identity.kind != "user":
        raise Forbidden("Only people can do this, not API keys.", code=NOT_A_PERSON)
    return identity


Person = Annotated[Identity, Depends(_person)]


@dataclass(frozen=True)
class Member:
    """A person acting in their current tenant, with the role the database holds now (the
    access token's role may be up to 15 minutes old)."""

    identity: Identity
    user_id: str
    tenant_id: str
    tenant_name: str
    tenant_slug: str
    role: str

    @property
    def ip(self) -> str | None:
        return self.identity.client_ip


def _member(needed: str):  # noqa: ANN202
    async def current_member(identity: TenantIdentity, ctx: Ctx) -> Member:
        if identity.kind != "user":
            raise Forbidden("Only people can do this, not API keys.", code=NOT_A_PERSON)
        row = None
        if identity.tenant_id is not None:  # always, behind TenantIdentity
            async with ctx.db.sessionmaker() as session:
                row = await repo.get_membership(
                    session, tenant_id=identity.tenant_id, user_id=identity.principal_id
                )
        if row is None:
            raise Forbidden("You are not a member of this team.", code="not-a-member")
        if not (identity.has_role(needed) and at_least(row.role, needed)):
            raise Forbidden(f"This needs the {needed} role.", code=ROLE_REQUIRED)
        return Member(
            identity=identity,
            user_id=identity.principal_id,
            tenant_id=row.tenant_id,
            tenant_name=row.tenant_name,
            tenant_slug=row.slug,
            role=row.role,
        )

    return Depends(current_member)


AnyMember = Annotated[Member, _member("member")]
Admin = Annotated[Member, _member("admin")]
Owner = Annotated[Member, _member("owner")]
