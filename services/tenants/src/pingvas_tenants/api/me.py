"""The caller: their account, their teams, and the team they are acting in."""

from __future__ import annotations

from fastapi import APIRouter

from pingvas_kit.http import problem_responses

from .. import usecases
from ..adapters import repository as repo
from ..domain.errors import NotAuthenticated
from ..domain.roles import platform_roles
from .deps import Ctx, Person
from .schemas import (
    MembershipOut,
    MeOut,
    PasswordChangeIn,
    PreferencesIn,
    TenantOut,
    TokenPair,
    UserOut,
)
from .sessions import token_pair, user_out

router = APIRouter(prefix="/api/v1", tags=["me"])


@router.get(
    "/me",
    summary="Who am I",
    description="The caller's account, the teams they belong to, and the team and role they act in now.",
    responses=problem_responses(403),
)
async def me(identity: Person, ctx: Ctx) -> MeOut:
    async with ctx.db.sessionmaker() as session:
        user = await repo.get_user(session, user_id=identity.principal_id)
        if user is None:
            raise NotAuthenticated("Log in first.")
        memberships = await repo.memberships_of_user(session, user_id=user.id)
    current = next((m for m in memberships if m.tenant_id == identity.tenant_id), None)
    return MeOut(
        user=user_out(user),
        memberships=[
            MembershipOut(tenant_id=m.tenant_id, tenant_name=m.tenant_name, role=m.role)
            for m in memberships
        ],
        tenant=TenantOut(id=current.tenant_id, name=current.tenant_name, slug=current.slug)
        if current
        else None,
        role=current.role if current else None,
        platform_roles=platform_roles(user.platform_role),
    )


@router.patch(
    "/me/preferences",
    summary="Save my preferences",
    description=(
        "The caller's own preferences: `locale` (ko or en) is the language of every mail to "
        "them from now on, whoever causes it. People only, not API keys."
    ),
    responses=problem_responses(401, 403, 422),
)
async def save_preferences(body: PreferencesIn, identity: Person, ctx: Ctx) -> UserOut:
    """Saves the caller's preferences; answers their account as saved."""
    user = await usecases.set_preferences(
        ctx, user_id=identity.principal_id, tenant_id=identity.tenant_id, locale=body.locale
    )
    return user_out(user)


@router.post(
    "/me/password",
    summary="Change my password",
    description=(
        "The current password and a new one (the rule of GET /api/v1/auth/password-policy). "
        "Every session of the account ends and the caller gets a new token pair (a browser: "
        "new cookies); a mail tells the person. A wrong current password is 422 "
        "`wrong-current-password`; a refused new one 422 with the rule's code."
    ),
    responses=problem_responses(403, 422),
)
async def change_password(body: PasswordChangeIn, identity: Person, ctx: Ctx) -> TokenPair:
    """The new pair is for the team the caller acts in now."""
    return token_pair(
        await usecases.change_password(
            ctx,
            user_id=identity.principal_id,
            tenant_id=identity.tenant_id,
            current_password=body.current_password,
            new_password=body.new_password,
            ip=identity.client_ip,
        )
    )
