"""The current tenant itself: deleting it (owners, confirmed by typing its name)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from pingvas_kit.http import problem_responses

from .. import usecases
from ..domain.errors import Invalid
from .deps import Ctx, Owner
from .schemas import DeleteTenantIn

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
