"""What the tenant may do: its models and its entitlements."""

from __future__ import annotations

from fastapi import APIRouter

from pingvas_kit.http import problem_responses

from ..adapters import repository as repo
from ..domain.errors import NotReady
from ..domain.pricing import allowed_models, limits_of
from .deps import AnyCaller, Context, Ctx
from .schemas import EntitlementsOut, ModelList, ModelOut

router = APIRouter(prefix="/api/v1", tags=["account"])


async def _entitlements(ctx: Context, tenant_id: str):
    async with ctx.db.sessionmaker() as session:
        row = await repo.get_entitlements(session, tenant_id=tenant_id)
    if row is None:
        raise NotReady(
            "Your team is still being set up; try again in a moment.",
            headers={"Retry-After": "2"},
        )
    return row


@router.get(
    "/models",
    summary="List the models",
    description=(
        "The models the team's plan may use, with each one's default and largest size and steps, "
        "default guidance and scheduler, and credit factor."
    ),
    responses=problem_responses(403, 503),
)
async def list_models(me: AnyCaller, ctx: Ctx) -> ModelList:
    ent = await _entitlements(ctx, me.tenant_id)
    models = allowed_models(ctx.catalog, limits_of(ent), test_models=ctx.settings.test_models)
    return ModelList(
        items=[
            ModelOut(
                **{k: v for k, v in m.as_dict().items() if k in ModelOut.model_fields},
            ).model_copy(
                update={
                    "max_width": min(m.max_width, ent.max_width),
                    "max_height": min(m.max_height, ent.max_height),
                }
            )
            for m in models
        ]
    )


@router.get(
    "/models/catalog",
    summary="The models on offer",
    description=(
        "Every model Pingvas offers, on any plan, with its display name and credit factor: "
        "what plan cards and price lists name (a plan's `allowed_models` are these keys). "
        "`test` models, offered only on a local run, are on every plan. Public: no login."
    ),
    responses=problem_responses(),
)
async def model_catalog(ctx: Ctx) -> ModelList:
    """The catalog as the Generate page names it, for every plan at once."""
    return ModelList(
        items=[
            ModelOut(**{k: v for k, v in m.as_dict().items() if k in ModelOut.model_fields})
            for m in ctx.catalog
            if not m.test or ctx.settings.test_models
        ]
    )


@router.get(
    "/entitlements",
    summary="What the team may do",
    description=(
        "The team's plan limits as render applies them: credits, concurrent jobs, models. 503 "
        "`entitlements-pending` for a brand-new team until billing's first event arrives."
    ),
    responses=problem_responses(403, 503),
)
async def get_entitlements(me: AnyCaller, ctx: Ctx) -> EntitlementsOut:
    ent = await _entitlements(ctx, me.tenant_id)
    return EntitlementsOut(
        plan=ent.plan,
        credits_available=ent.credits_available - ent.credits_reserved,
        credits_reserved=ent.credits_reserved,
        max_concurrent_jobs=ent.max_concurrent_jobs,
        max_images_per_job=ent.max_images_per_job,
        max_width=ent.max_width,
        max_height=ent.max_height,
        allowed_models=list(ent.allowed_models),
        priority_weight=ent.priority_weight,
    )
