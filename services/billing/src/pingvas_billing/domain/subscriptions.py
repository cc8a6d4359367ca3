"""A tenant's subscription as billing holds it (one `subscriptions` row per tenant), the
events that report it and what the tenant is told to do about it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pingvas_contracts.events.billing import Entitlements, LemonSqueezyRef

from ..plans import Plans
from .payloads import LsSubscription
from .periods import add_months, later, period_bounds

#: statuses in which a failed payment is outstanding (the grace period runs)
DELINQUENT = ("past_due", "unpaid")


def is_paid(state: Mapping[str, Any] | None) -> bool:
    """A paid plan in force (a cancelled one runs until it ends; an expired one is Free)."""
    return (
        state is not None
        and state["plan"] != "free"
        and state["ls_subscription_id"] is not None
        and state["status"] != "expired"
    )


def is_stale(ls: LsSubscription, before: Mapping[str, Any] | None) -> bool:
    """Whether a subscription event is older than the state held: the same subscription
    updated since, or another one while the tenant holds a live paid subscription (an ended
    or older one is history)."""
    same = before is not None and before["ls_subscription_id"] == ls.id
    held = before["ls_updated_at"] if before is not None else None
    if same and held is not None and ls.updated_at <= held:
        return True
    if not same and is_paid(before):
        return ls.status in ("cancelled", "expired") or bool(held and ls.updated_at <= held)
    return False


def next_state(
    ls: LsSubscription,
    before: Mapping[str, Any] | None,
    *,
    tenant_id: str,
    plan: str,
    interval: str,
    at: datetime,
    new_id: str,
) -> dict[str, Any]:
    """The subscription row after Lemon Squeezy's `ls` (times of `before` aware): an expired
    one is Free for a month from its end; the grace period runs from the first delinquent
    state and its reduction is kept while delinquent; `updated_at` never goes backwards.
    `new_id` is the row's id unless `ls` is the subscription held."""
    same = before is not None and before["ls_subscription_id"] == ls.id
    expired = ls.status == "expired"
    if expired:
        start = ls.ends_at or ls.updated_at
        end = add_months(start, 1)  # the Free plan's period
    else:
        last = ls.ends_at if ls.status == "cancelled" and ls.ends_at else ls.renews_at
        start, end = period_bounds(
            end=last, interval=interval, created_at=ls.created_at, fallback=ls.updated_at
        )
    delinquent = ls.status in DELINQUENT
    was_delinquent = same and before is not None and before["status"] in DELINQUENT
    past_due_since: datetime | None
    if delinquent and was_delinquent and before and before["past_due_since"] is not None:
        past_due_since = before["past_due_since"]
    elif delinquent:
        past_due_since = min(ls.updated_at, at)
    else:
        past_due_since = None
    reduced = bool(
        before is not None and delinquent and was_delinquent and before["entitlements_reduced"]
    )
    return {
        "id": before["id"] if same and before else new_id,
        "tenant_id": tenant_id,
        "plan": "free" if expired else plan,
        "status": ls.status,
        "interval": None if expired else interval,
        "ls_subscription_id": ls.id,
        "ls_customer_id": ls.customer_id,
        "ls_order_id": ls.order_id,
        "ls_product_id": ls.product_id,
        "ls_variant_id": ls.variant_id,
        "test_mode": ls.test_mode,
        "current_period_start": start,
        "current_period_end": end,
        "trial_ends_at": ls.trial_ends_at,
        "ends_at": ls.ends_at,
        "past_due_since": past_due_since,
        "entitlements_reduced": reduced,
        "customer_portal_url": ls.customer_portal_url,
        "update_payment_method_url": ls.update_payment_method_url,
        "ls_updated_at": ls.updated_at,
        "updated_at": later(ls.updated_at, before["updated_at"] if before else None),
    }


def entitlements_of(state: Mapping[str, Any], plans: Plans) -> Entitlements:
    """The plan's, or Free's when reduced (a failed payment past its grace) or expired."""
    if state["entitlements_reduced"] or state["status"] == "expired" or state["plan"] == "free":
        return plans.free.entitlements
    plan = plans.get(state["plan"])
    return plan.entitlements if plan else plans.free.entitlements


def lemon_squeezy_ref(state: Mapping[str, Any]) -> LemonSqueezyRef | None:
    if state.get("ls_subscription_id") is None:
        return None
    return LemonSqueezyRef(
        subscription_id=state["ls_subscription_id"],
        customer_id=state["ls_customer_id"],
        order_id=state.get("ls_order_id"),
        product_id=state["ls_product_id"],
        variant_id=state["ls_variant_id"],
    )


def state_data(state: Mapping[str, Any], plans: Plans, *, updated_at: datetime) -> dict[str, Any]:
    """The fields every subscription.* event shares (activated, changed, cancelled), as
    keyword arguments of its model."""
    return {
        "subscription_id": state["id"],
        "plan": state["plan"],
        "status": state["status"],
        "interval": state["interval"],
        "lemon_squeezy": lemon_squeezy_ref(state),
        "entitlements": entitlements_of(state, plans),
        "current_period_start": state["current_period_start"],
        "current_period_end": state["current_period_end"],
        "updated_at": updated_at,
    }


def guidance(state: Mapping[str, Any], plans: Plans) -> str | None:
    """What the tenant should do about its subscription, in a sentence or two; None when
    nothing is needed."""
    status = state["status"]
    plan = plans.get(state["plan"])
    name = plan.name if plan else state["plan"]
    url = state.get("update_payment_method_url")
    where = f" at {url}" if url else " from the customer portal (Billing → Manage)"
    ends = state.get("ends_at") or state.get("current_period_end")
    until = f" until {ends:%Y-%m-%d}" if isinstance(ends, datetime) else ""
    if status == "past_due":
        if state["entitlements_reduced"]:
            return (
                f"Your last payment for {name} failed and the grace period is over, so your "
                f"limits are the Free plan's. Update your payment method{where}; {name} comes "
                "back as soon as the payment goes through."
            )
        return (
            f"Your last payment for {name} failed. Update your payment method{where} to keep "
            f"{name}; if the payment still fails after the grace period, your limits fall "
            "to the Free plan's."
        )
    if status == "unpaid":
        return (
            f"Payments for {name} have failed repeatedly, so your limits are the Free plan's. "
            f"Update your payment method{where} to restore {name}."
        )
    if status == "cancelled":
        return (
            f"Your {name} subscription is cancelled: you keep it{until}, then your team "
            "moves to the Free plan. Resume it from the customer portal to keep it."
        )
    if status == "paused":
        return (
            f"Your {name} subscription is paused and no payments are collected. Resume it "
            "from the customer portal to renew your credits."
        )
    if status == "expired" and state.get("ls_subscription_id"):
        return "Your paid subscription has ended and your team is on the Free plan. Choose a plan to upgrade."
    return None
