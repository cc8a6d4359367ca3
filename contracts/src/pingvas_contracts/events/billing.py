"""Events published by the billing context.

The tenant travels in the envelope's `tenantid`. Every event carries `updated_at`, the
time of the billing state it reports: a projection (render's entitlements, tenants'
plan badge) applies an event only if its `updated_at` is newer than what it holds, so
events that arrive out of order or twice change nothing. Money is in minor units
(cents) with an ISO 4217 currency; Lemon Squeezy ids are kept as decimal strings.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..base import EventData, event
from ..types import Id, ModelKey, Plan, Timestamp, Url

LsId = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[0-9]+$")]
Currency = Annotated[str, Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")]

SubscriptionStatus = Literal[
    "on_trial", "active", "paused", "past_due", "unpaid", "cancelled", "expired"
]
Interval = Literal["month", "year"]


class LemonSqueezyRef(BaseModel):
    """Lemon Squeezy's ids for the subscription (absent for the free plan)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    subscription_id: LsId = Field(description="Lemon Squeezy subscription id")
    customer_id: LsId = Field(description="Lemon Squeezy customer id")
    order_id: LsId | None = Field(default=None, description="order that started it")
    product_id: LsId = Field(description="Lemon Squeezy product id")
    variant_id: LsId = Field(description="Lemon Squeezy variant (plan + interval) id")


class Entitlements(BaseModel):
    """What the plan allows; render keeps a projection of this per tenant."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    monthly_credits: int = Field(ge=0, description="credits granted each billing period")
    max_concurrent_jobs: int = Field(ge=1, le=64, description="jobs running at once")
    max_images_per_job: int = Field(ge=1, le=16, description="images one job may ask for")
    max_width: int = Field(ge=64, le=4096, description="largest image width in pixels")
    max_height: int = Field(ge=64, le=4096, description="largest image height in pixels")
    allowed_models: list[ModelKey] = Field(
        min_length=1, description="model keys of the render catalog the plan may use"
    )
    priority_weight: int = Field(
        ge=1, le=100, description="weight in render's fair scheduling across tenants"
    )


_FREE = {
    "monthly_credits": 50,
    "max_concurrent_jobs": 1,
    "max_images_per_job": 2,
    "max_width": 1024,
    "max_height": 1024,
    "allowed_models": ["sd-1.5", "sdxl-turbo"],
    "priority_weight": 1,
}
_PRO = {
    "monthly_credits": 2000,
    "max_concurrent_jobs": 4,
    "max_images_per_job": 8,
    "max_width": 2048,
    "max_height": 2048,
    "allowed_models": ["sd-1.5", "sdxl-turbo", "sdxl-base-1.0", "flux-schnell"],
    "priority_weight": 4,
}
_LS = {
    "subscription_id": "1048576",
    "customer_id": "2210934",
    "order_id": "5830021",
    "product_id": "301122",
    "variant_id": "412090",
}
_SUB = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"


class _SubscriptionState(EventData):
    """Fields common to the subscription.* events (not an event itself)."""

    subscription_id: Id = Field(description="billing's subscription id")
    plan: Plan = Field(description="plan the tenant is on after this event")
    status: SubscriptionStatus = Field(description="subscription status (Lemon Squeezy's)")
    interval: Interval | None = Field(description="billing interval; null for the free plan")
    lemon_squeezy: LemonSqueezyRef | None = Field(
        description="Lemon Squeezy ids; null for the free plan"
    )
    entitlements: Entitlements = Field(description="what the tenant may now do")
    current_period_start: Timestamp = Field(description="start of the current period")
    current_period_end: Timestamp = Field(
        description="end of the current period (renewal, or end of access if cancelled)"
    )
    updated_at: Timestamp = Field(description="time of the billing state reported")


@event(
    "pingvas.billing.subscription.activated.v1",
    examples=[
        {
            "subscription_id": "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
            "plan": "free",
            "status": "active",
            "interval": None,
            "lemon_squeezy": None,
            "entitlements": _FREE,
            "trial_ends_at": None,
            "current_period_start": "2026-11-26T09:00:00Z",
            "current_period_end": "2026-12-26T09:00:00Z",
            "updated_at": "2026-11-26T09:00:01Z",
        },
        {
            "subscription_id": _SUB,
            "plan": "pro",
            "status": "active",
            "interval": "month",
            "lemon_squeezy": _LS,
            "entitlements": _PRO,
            "trial_ends_at": None,
            "current_period_start": "2026-11-28T03:12:44Z",
            "current_period_end": "2026-12-28T03:12:44Z",
            "updated_at": "2026-11-28T03:12:45Z",
        },
    ],
)
class SubscriptionActivated(_SubscriptionState):
    """A subscription started (the free plan for a new tenant, or a paid plan after a
    Lemon Squeezy checkout). Render replaces the tenant's entitlements."""

    trial_ends_at: Timestamp | None = Field(
        default=None, description="end of the trial, when the plan starts with one"
    )


@event(
    "pingvas.billing.subscription.changed.v1",
    examples=[
        {
            "subscription_id": _SUB,
            "plan": "team",
            "previous_plan": "pro",
            "status": "active",
            "previous_status": "active",
            "interval": "month",
            "lemon_squeezy": {**_LS, "variant_id": "412093"},
            "entitlements": {
                **_PRO,
                "monthly_credits": 6000,
                "max_concurrent_jobs": 8,
                "priority_weight": 8,
            },
            "current_period_start": "2026-11-28T03:12:44Z",
            "current_period_end": "2026-12-28T03:12:44Z",
            "updated_at": "2026-12-05T10:40:00Z",
        }
    ],
)
class SubscriptionChanged(_SubscriptionState):
    """A live subscription changed plan, interval or status (upgrade, downgrade, paused,
    resumed, past due after a failed payment, recovered). Carries the full new state."""

    previous_plan: Plan = Field(description="plan before the change")
    previous_status: SubscriptionStatus = Field(description="status before the change")


@event(
    "pingvas.billing.subscription.cancelled.v1",
    examples=[
        {
            "subscription_id": _SUB,
            "plan": "pro",
            "status": "cancelled",
            "interval": "month",
            "lemon_squeezy": _LS,
            "entitlements": _PRO,
            "current_period_start": "2026-11-28T03:12:44Z",
            "current_period_end": "2026-12-28T03:12:44Z",
            "ends_at": "2026-12-28T03:12:44Z",
            "cancelled_by": "customer",
            "cancelled_at": "2026-12-14T21:03:10Z",
            "updated_at": "2026-12-14T21:03:11Z",
        }
    ],
)
class SubscriptionCancelled(_SubscriptionState):
    """A paid subscription was cancelled. Access continues until `ends_at` (the grace
    period); `subscription.expired` follows then unless it is resumed
    (`subscription.changed` back to active)."""

    ends_at: Timestamp = Field(description="when access to the paid plan ends")
    cancelled_by: Literal["customer", "operator", "payment_failure"] = Field(
        description="who or what cancelled it"
    )
    cancelled_at: Timestamp = Field(description="when it was cancelled")


@event(
    "pingvas.billing.subscription.expired.v1",
    examples=[
        {
            "subscription_id": _SUB,
            "expired_plan": "pro",
            "plan": "free",
            "lemon_squeezy": _LS,
            "entitlements": _FREE,
            "expired_at": "2026-12-28T03:12:44Z",
            "updated_at": "2026-12-28T03:12:45Z",
        }
    ],
)
class SubscriptionExpired(EventData):
    """A paid subscription ended for good; the tenant falls back to the free plan, whose
    entitlements it carries."""

    subscription_id: Id = Field(description="billing's id of the subscription that ended")
    expired_plan: Plan = Field(description="plan that ended")
    plan: Literal["free"] = Field(default="free", description="plan the tenant is on now")
    lemon_squeezy: LemonSqueezyRef | None = Field(description="Lemon Squeezy ids, if paid")
    entitlements: Entitlements = Field(description="what the tenant may now do")
    expired_at: Timestamp = Field(description="when the subscription ended")
    updated_at: Timestamp = Field(description="time of the billing state reported")


@event(
    "pingvas.billing.payment.succeeded.v1",
    examples=[
        {
            "payment_id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
            "kind": "subscription",
            "subscription_id": _SUB,
            "plan": "pro",
            "amount_minor": 2900,
            "currency": "USD",
            "lemon_squeezy_order_id": None,
            "lemon_squeezy_invoice_id": "7741203",
            "receipt_url": "https://app.lemonsqueezy.com/my-orders/2ba92a4e/subscription-invoice/7741203",
            "paid_at": "2026-12-28T03:12:50Z",
            "updated_at": "2026-12-28T03:12:51Z",
        },
        {
            "payment_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
            "kind": "credit_pack",
            "subscription_id": None,
            "plan": None,
            "amount_minor": 15000,
            "currency": "KRW",
            "lemon_squeezy_order_id": "5830199",
            "lemon_squeezy_invoice_id": None,
            "receipt_url": None,
            "paid_at": "2026-12-03T02:00:00Z",
            "updated_at": "2026-12-03T02:00:01Z",
        },
    ],
)
class PaymentSucceeded(EventData):
    """Lemon Squeezy collected a payment (a subscription renewal or a credit pack).
    Mail sends the receipt; credits follow as `credits.granted`."""

    payment_id: Id = Field(description="billing's payment id")
    kind: Literal["subscription", "credit_pack"] = Field(description="what was paid for")
    subscription_id: Id | None = Field(description="subscription paid for, if any")
    plan: Plan | None = Field(description="plan paid for, if a subscription")
    amount_minor: int = Field(ge=0, description="amount in minor units (cents, won)")
    currency: Currency = Field(description="ISO 4217 currency code")
    lemon_squeezy_order_id: LsId | None = Field(description="Lemon Squeezy order id")
    lemon_squeezy_invoice_id: LsId | None = Field(
        description="Lemon Squeezy subscription invoice id"
    )
    receipt_url: Url | None = Field(description="customer-facing receipt, if provided")
    paid_at: Timestamp = Field(description="when the payment was collected")
    updated_at: Timestamp = Field(description="time of the billing state reported")


@event(
    "pingvas.billing.payment.failed.v1",
    examples=[
        {
            "payment_id": "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
            "subscription_id": _SUB,
            "plan": "pro",
            "amount_minor": 2900,
            "currency": "USD",
            "lemon_squeezy_invoice_id": "7741388",
            "attempt": 1,
            "reason": "card_declined",
            "next_retry_at": "2027-01-31T03:12:44Z",
            "update_payment_method_url": "https://app.lemonsqueezy.com/my-orders/2ba92a4e/update-payment",
            "failed_at": "2027-01-28T03:12:49Z",
            "updated_at": "2027-01-28T03:12:50Z",
        }
    ],
)
class PaymentFailed(EventData):
    """A subscription renewal could not be collected. Mail asks the owner to update the
    card; the subscription usually turns `past_due` (a `subscription.changed`)."""

    payment_id: Id = Field(description="billing's payment id")
    subscription_id: Id = Field(description="subscription whose renewal failed")
    plan: Plan = Field(description="plan of that subscription")
    amount_minor: int = Field(ge=0, description="amount due, in minor units")
    currency: Currency = Field(description="ISO 4217 currency code")
    lemon_squeezy_invoice_id: LsId | None = Field(description="Lemon Squeezy invoice id")
    attempt: int = Field(ge=1, description="collection attempt number (1 = first)")
    reason: Literal["card_declined", "insufficient_funds", "expired_card", "other"] = Field(
        description="coarse reason; the provider's raw message is not propagated"
    )
    next_retry_at: Timestamp | None = Field(description="next automatic retry, if any")
    update_payment_method_url: Url | None = Field(
        description="Lemon Squeezy page where the customer updates the card"
    )
    failed_at: Timestamp = Field(description="when the attempt failed")
    updated_at: Timestamp = Field(description="time of the billing state reported")


@event(
    "pingvas.billing.credits.granted.v1",
    examples=[
        {
            "grant_id": "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
            "credits": 50,
            "reason": "plan_start",
            "plan": "free",
            "balance_after": 50,
            "expires_at": "2026-12-26T09:00:00Z",
            "granted_at": "2026-11-26T09:00:01Z",
            "updated_at": "2026-11-26T09:00:01Z",
        }
    ],
)
class CreditsGranted(EventData):
    """Credits were added to the tenant's ledger (plan start, renewal, purchase,
    promotion, refund of a failed job's charge)."""

    grant_id: Id = Field(description="ledger entry id")
    credits: int = Field(gt=0, description="credits added")
    reason: Literal["plan_start", "renewal", "purchase", "promotion", "refund", "adjustment"] = (
        Field(description="why the credits were granted")
    )
    plan: Plan = Field(description="tenant's plan at the time of the grant")
    balance_after: int = Field(description="available balance after the grant")
    expires_at: Timestamp | None = Field(
        default=None, description="when these credits lapse; null if they never do"
    )
    granted_at: Timestamp = Field(description="when the credits were granted")
    updated_at: Timestamp = Field(description="time of the ledger state reported")


@event(
    "pingvas.billing.credits.expired.v1",
    examples=[
        {
            "expiry_id": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
            "credits": 12,
            "reason": "period_end",
            "plan": "free",
            "balance_after": 0,
            "expired_at": "2026-12-26T09:00:00Z",
            "updated_at": "2026-12-26T09:00:00Z",
        }
    ],
)
class CreditsExpired(EventData):
    """Unused credits lapsed by the plan's rule (at the end of the period they were
    granted for, just before the next period's grant). Projections subtract `credits`."""

    expiry_id: Id = Field(description="ledger entry id")
    credits: int = Field(gt=0, description="credits that lapsed")
    reason: Literal["period_end", "adjustment"] = Field(description="why they lapsed")
    plan: Plan = Field(description="tenant's plan at the time")
    balance_after: int = Field(ge=0, description="balance after the expiry")
    expired_at: Timestamp = Field(description="when the credits lapsed")
    updated_at: Timestamp = Field(description="time of the ledger state reported")


@event(
    "pingvas.billing.credits.exhausted.v1",
    examples=[
        {
            "plan": "free",
            "balance": 0,
            "next_grant_at": "2026-12-26T09:00:00Z",
            "exhausted_at": "2026-12-09T17:44:02Z",
            "updated_at": "2026-12-09T17:44:02Z",
        }
    ],
)
class CreditsExhausted(EventData):
    """The tenant's available credit balance reached zero: render refuses new jobs
    until credits are granted again; mail suggests an upgrade or a credit pack."""

    plan: Plan = Field(description="tenant's current plan")
    balance: int = Field(le=0, description="available balance (0, or negative after settling)")
    next_grant_at: Timestamp | None = Field(
        description="when the next periodic grant is due, if any"
    )
    exhausted_at: Timestamp = Field(description="when the balance reached zero")
    updated_at: Timestamp = Field(description="time of the ledger state reported")
