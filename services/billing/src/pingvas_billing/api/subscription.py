"""What a tenant sees of its plan: the plans on sale, its subscription (with what to do
about it) and its payments. The tenant is always the identity's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from pingvas_kit.http import problem_responses
from pingvas_kit.identity import CurrentIdentity

from ..adapters import repository as repo
from ..adapters.repository import aware
from ..domain.subscriptions import entitlements_of, guidance
from .deps import Ctx, Member, Owner

router = APIRouter(prefix="/api/v1/billing", tags=["billing"])


class Price(BaseModel):
    amount_minor: int
    currency: str
    variant_id: str


class PlanOut(BaseModel):
    code: str
    name: str
    monthly_credits: int
    rollover: bool
    #: per interval ("month", "year"); empty for Free
    prices: dict[str, Price]
    limits: dict[str, Any]


class PlanList(BaseModel):
    items: list[PlanOut]


class SubscriptionOut(BaseModel):
    subscription_id: str | None
    plan: str
    plan_name: str
    status: str
    interval: str | None
    current_period_start: datetime | None
    current_period_end: datetime | None
    trial_ends_at: datetime | None
    ends_at: datetime | None
    past_due_since: datetime | None
    entitlements_reduced: bool
    entitlements: dict[str, Any]
    update_payment_method_url: str | None
    #: what to do (past due: update the payment method); null when nothing is needed
    guidance: str | None


class PaymentOut(BaseModel):
    id: str
    reference: str
    kind: str
    status: str
    plan: str | None
    amount_minor: int
    currency: str
    receipt_url: str | None
    created_at: datetime
    updated_at: datetime


class PaymentList(BaseModel):
    items: list[PaymentOut]


@router.get(
    "/plans",
    summary="List the plans",
    description=(
        "The plans on sale with their price and what each allows (credits, concurrency, "
        "models). Public: the home page shows them to visitors without an account."
    ),
    responses=problem_responses(401),
)
async def list_plans(_caller: CurrentIdentity, ctx: Ctx) -> PlanList:
    """Any identity the gateway signed, anonymous included."""
    items = []
    for plan in ctx.plans:
        limits = plan.entitlements.model_dump()
        limits.pop("monthly_credits")
        items.append(
            PlanOut(
                code=plan.code,
                name=plan.name,
                monthly_credits=plan.monthly_credits,
                rollover=plan.rollover,
                prices={
                    interval: Price(
                        amount_minor=amount,
                        currency=plan.currency,
                        variant_id=plan.variants[interval],
                    )
                    for interval, amount in plan.prices.items()
                },
                limits=limits,
            )
        )
    return PlanList(items=items)


@router.get(
    "/subscription",
    summary="The team's subscription",
    description=(
        "The current plan, its status (active, on trial, past due, cancelled) and the period, "
        "with what the team may do about it (upgrade, manage, resume)."
    ),
    responses=problem_responses(403),
)
async def get_subscription(me: Member, ctx: Ctx) -> SubscriptionOut:
    assert me.tenant_id is not None
    async with ctx.db.sessionmaker() as session:
        row = await repo.get_subscription(session, tenant_id=me.tenant_id)
    if row is None:
        # tenant.created has not reached billing yet: the tenant is on Free all the same
        free = ctx.plans.free
        return SubscriptionOut(
            subscription_id=None,
            plan=free.code,
            plan_name=free.name,
            status="active",
            interval=None,
            current_period_start=None,
            current_period_end=None,
            trial_ends_at=None,
            ends_at=None,
            past_due_since=None,
            entitlements_reduced=False,
            entitlements=free.entitlements.model_dump(),
            update_payment_method_url=None,
            guidance=None,
        )
    state = repo.state_of(row)
    plan = ctx.plans.get(state["plan"])
    return SubscriptionOut(
        subscription_id=state["id"],
        plan=state["plan"],
        plan_name=plan.name if plan else state["plan"],
        status=state["status"],
        interval=state["interval"],
        current_period_start=state["current_period_start"],
        current_period_end=state["current_period_end"],
        trial_ends_at=state["trial_ends_at"],
        ends_at=state["ends_at"],
        past_due_since=state["past_due_since"],
        entitlements_reduced=state["entitlements_reduced"],
        entitlements=entitlements_of(state, ctx.plans).model_dump(),
        update_payment_method_url=state["update_payment_method_url"],
        guidance=guidance(state, ctx.plans),
    )


@router.get(
    "/payments",
    summary="List payments",
    description="The team's payments, newest first. Owners only.",
    responses=problem_responses(403, 422),
)
async def list_payments(me: Owner, ctx: Ctx, limit: int = Query(50, ge=1, le=200)) -> PaymentList:
    assert me.tenant_id is not None
    async with ctx.db.sessionmaker() as session:
        rows = await repo.list_payments(session, tenant_id=me.tenant_id, limit=limit)
    return PaymentList(
        items=[
            PaymentOut(
                id=r.id,
                reference=r.reference,
                kind=r.kind,
                status=r.status,
                plan=r.plan,
                amount_minor=r.amount_minor,
                currency=r.currency,
                receipt_url=r.receipt_url,
                created_at=aware(r.created_at),
                updated_at=aware(r.updated_at),
            )
            for r in rows
        ]
    )
