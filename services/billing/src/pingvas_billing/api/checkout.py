"""Buying and managing a paid plan: a Lemon Squeezy checkout, and LS's customer portal.

    POST /api/v1/billing/checkout {plan, interval, email?}   owner   {url}
    GET  /api/v1/billing/portal                               owner   {url}

The tenant id goes into the checkout's custom data (it comes back in every webhook of the
purchase); it always comes from the forwarded identity, never from the body. The internal
identity carries no email address, so the caller may pass the owner's in the body to
prefill the checkout. Without an API key (a local run, CI) checkout answers 503 and points
at `pingvas-billing simulate-webhook`, which plays the webhooks of a purchase instead."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from pingvas_kit.http import problem_response, problem_responses
from pingvas_kit.identity import Identity, require_role
from pingvas_kit.logging import get_logger
from pingvas_kit.problems import register_codes

from ..adapters import repository as repo
from ..adapters.lemonsqueezy import (
    BINDING_KEY,
    LemonSqueezy,
    LemonSqueezyError,
    LemonSqueezyNotFound,
    checkout_binding,
)
from ..plans import Plans, load_plans
from ..settings import Settings

log = get_logger("pingvas.billing.checkout")

router = APIRouter(prefix="/api/v1/billing", tags=["billing"])

Owner = Annotated[Identity, require_role("owner")]

NOT_CONFIGURED = "payments are not configured here; try `pingvas-billing simulate-webhook`"
#: the precise refusals (problem+json `code`) that are not written at one place only
(NOT_CONFIGURED_CODE,) = register_codes("payments-not-configured", status=503)
(PROVIDER_FAILED,) = register_codes("payment-provider-failed", status=502)
(NO_SUBSCRIPTION,) = register_codes("no-subscription", status=404)
#: a subscription in one of these states is still the tenant's: change it in the portal
LIVE_STATUSES = ("on_trial", "active", "paused", "past_due", "unpaid")


#: what a checkout sells: every plan but Free (which needs none); the catalogue's file may
#: still leave one out or not sell it by the year (422 "Unknown plan", "Unknown interval")
PaidPlan = Literal["starter", "pro", "team"]


class CheckoutIn(BaseModel):
    plan: PaidPlan
    interval: Literal["month", "year"] = "month"
    #: the owner's address, to prefill the checkout (the identity carries none)
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")


class UrlOut(BaseModel):
    url: str


def _settings(request: Request) -> Settings:
    return request.app.state.runtime.settings


def _plans(request: Request) -> Plans:
    """The app's catalogue when app.py keeps one on app.state, else loaded once here."""
    state = request.app.state
    plans = getattr(state, "plans", None)
    if isinstance(plans, Plans):
        return plans
    if not isinstance(getattr(state, "checkout_plans", None), Plans):
        state.checkout_plans = load_plans(_settings(request).plans_file)
    return state.checkout_plans


async def _subscription(request: Request, tenant_id: str) -> Any:
    db = request.app.state.runtime.db
    async with db.sessionmaker() as session:
        return await repo.get_subscription(session, tenant_id=tenant_id)


@router.post(
    "/checkout",
    response_model=UrlOut,
    summary="Start a checkout",
    responses=problem_responses(403, 409, 422, 503),
)
async def create_checkout(body: CheckoutIn, request: Request, owner: Owner) -> Any:
    """A Lemon Squeezy checkout for a paid plan; the owner pays there and comes back to
    `{public_url}/billing?checkout=done`, and the subscription arrives by webhook."""
    assert owner.tenant_id is not None
    settings = _settings(request)
    plan = _plans(request).get(body.plan)
    if plan is None:
        return problem_response(
            422, "Unknown plan", detail=f"There is no plan {body.plan!r}.", code="unknown-plan"
        )
    if plan.is_free:
        return problem_response(
            422,
            "Free is not for sale",
            detail="Free needs no checkout: it is the plan without one.",
            code="free-not-for-sale",
        )
    variant = plan.variants.get(body.interval)
    if variant is None:
        return problem_response(
            422,
            "Unknown interval",
            detail=f"{plan.name} is not sold by the {body.interval}.",
            code="unknown-interval",
        )
    current = await _subscription(request, owner.tenant_id)
    if current is not None and current.ls_subscription_id and current.status in LIVE_STATUSES:
        return problem_response(
            409,
            "Already subscribed",
            detail="Your team already has a subscription; change its plan in the customer portal.",
            type_="already-subscribed",
        )
    client = LemonSqueezy.from_settings(settings)
    if client is None or not settings.lemonsqueezy_store_id:
        return problem_response(
            503, "Payments are not configured", detail=NOT_CONFIGURED, code=NOT_CONFIGURED_CODE
        )
    redirect_url = settings.public_url.rstrip("/") + "/billing?checkout=done"
    # the purchase is bound to this tenant here, server-side: the webhooks apply it only to the
    # tenant the binding was made for (usecases/webhooks), whatever else the custom data says
    binding = checkout_binding(settings.lemonsqueezy_signing_secret, owner.tenant_id)
    try:
        async with client:
            url = await client.create_checkout(
                variant_id=variant,
                tenant_id=owner.tenant_id,
                email=body.email,
                redirect_url=redirect_url,
                custom={BINDING_KEY: binding},
            )
    except LemonSqueezyError as exc:
        log.warning("checkout.failed", plan=plan.code, interval=body.interval, error=str(exc))
        return problem_response(
            502,
            "The payment provider did not answer",
            detail="Lemon Squeezy could not create the checkout; try again in a moment.",
            code=PROVIDER_FAILED,
        )
    log.info(
        "checkout.created",
        plan=plan.code,
        interval=body.interval,
        tenant_id=owner.tenant_id,
        binding=binding.split(".", 1)[0],
    )
    return UrlOut(url=url)


@router.get(
    "/portal",
    response_model=UrlOut,
    summary="Open the customer portal",
    responses=problem_responses(403, 404, 503),
)
async def customer_portal(request: Request, owner: Owner) -> Any:
    """Lemon Squeezy's customer portal for the tenant's subscription (payment method,
    invoices, plan changes, cancelling). LS's portal links are signed for a day, so a
    fresh one is asked for when an API key is configured; the one from the last webhook
    otherwise (or when LS does not answer)."""
    assert owner.tenant_id is not None
    row = await _subscription(request, owner.tenant_id)
    if row is None or not row.ls_subscription_id:
        return problem_response(
            404,
            "No paid subscription",
            detail="Your team has no paid subscription.",
            code=NO_SUBSCRIPTION,
        )
    stored = row.customer_portal_url
    client = LemonSqueezy.from_settings(_settings(request))
    if client is not None:
        try:
            async with client:
                return UrlOut(url=await client.customer_portal_url(row.ls_subscription_id))
        except LemonSqueezyNotFound:
            log.warning("portal.subscription_unknown_to_lemonsqueezy")
        except LemonSqueezyError as exc:
            log.warning("portal.lemonsqueezy_failed", error=str(exc))
            if not stored:
                return problem_response(
                    502,
                    "The payment provider did not answer",
                    detail="Lemon Squeezy did not give a portal link; try again in a moment.",
                    code=PROVIDER_FAILED,
                )
    if stored:
        return UrlOut(url=stored)
    if client is None:
        return problem_response(
            503, "Payments are not configured", detail=NOT_CONFIGURED, code=NOT_CONFIGURED_CODE
        )
    return problem_response(
        404,
        "No paid subscription",
        detail="Lemon Squeezy does not know this subscription.",
        code=NO_SUBSCRIPTION,
    )
