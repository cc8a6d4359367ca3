"""The current tenant itself: its settings (admins change them), deleting it (owners,
confirmed by typing its name)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from pingvas_kit.http import problem_responses

from .. import usecases
from ..domain.errors import Invalid
from .deps import Admin, AnyMember, Ctx, Owner
from .schemas import DeleteTenantIn, TeamSettings, TeamSettingsIn

router = APIRouter(prefix="/api/v1/tenant", tags=["tenant"])


@router.delete(
    "",
    status_code=204,
    summary="Delete the team",
    description=(
        "Deletes the team and everything of it in every service (images, jobs, subscription, "
        "search index), after the fact by events. `confirm` must be the team's name. Owners only."
    ),
    responses=problem_responses(403, 422),
)
async def delete_tenant(body: DeleteTenantIn, me: Owner, ctx: Ctx) -> Response:
    if body.confirm.strip() != me.tenant_name:
        raise Invalid(
            "Type the team's name exactly to confirm.",
            code="confirmation-mismatch",
            field="confirm",
        )
    await usecases.delete_tenant(
        ctx, tenant_id=me.tenant_id, tenant_slug=me.tenant_slug, actor_id=me.user_id, ip=me.ip
    )
    return Response(status_code=204)


@router.get(
    "/settings",
    summary="The team's settings",
    description=(
        "What the team decided for everyone in it: whether a member may delete another member's"
        " images (`member_image_deletion`). Every member may read them."
    ),
    responses=problem_responses(403, 404),
)
async def get_team_settings(me: AnyMember, ctx: Ctx) -> TeamSettings:
    value = await usecases.team_settings(ctx, tenant_id=me.tenant_id)
    return TeamSettings(member_image_deletion=value)


@router.patch(
    "/settings",
    summary="Change the team's settings",
    description=(
        "Sets `member_image_deletion`; audited, and render enforces the new value within "
        "moments (it learns it by the `tenant.settings_changed` event). Owners and admins."
    ),
    responses=problem_responses(403, 404, 422),
)
async def change_team_settings(body: TeamSettingsIn, me: Admin, ctx: Ctx) -> TeamSettings:
    value = await usecases.change_team_settings(
        ctx,
        tenant_id=me.tenant_id,
        member_image_deletion=body.member_image_deletion,
        actor_id=me.user_id,
        ip=me.ip,
    )
    return TeamSettings(member_image_deletion=value)
