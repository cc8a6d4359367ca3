"""A tenant's subscription as billing holds it (one `subscriptions` row per tenant), the
events that report it and what the tenant is told to do about it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pingvas_contracts.events.billing import Entitlements, LemonSqueezyRef

from ..plans import Plans

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
