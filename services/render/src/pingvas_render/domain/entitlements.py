"""The tenant's entitlements as render sees them: the plan's limits it enforces, and how
billing's credit events move the balance. Plain rules; `usecases/entitlements.py` applies
them to the projection in the consumer's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pingvas_contracts.events.billing import Entitlements


def plan_limits(plan: str, e: Entitlements) -> dict[str, Any]:
    """The columns of the projection a plan's entitlements set."""
    return {
        "plan": plan,
        "monthly_credits": e.monthly_credits,
        "max_concurrent_jobs": e.max_concurrent_jobs,
        "max_images_per_job": e.max_images_per_job,
        "max_width": e.max_width,
        "max_height": e.max_height,
        "allowed_models": list(e.allowed_models),
        "priority_weight": e.priority_weight,
    }


def is_stale(held: datetime | None, updated_at: datetime) -> bool:
    """A subscription event older than (or as old as) the state already held changes
    nothing: billing's events may arrive out of order."""
    return held is not None and updated_at <= held


def absorbed_credits(*, seed_credits: int, granted: int, reason: str) -> int:
    """The free plan's first grant is what tenant.created already gave: count it once."""
    return min(seed_credits, granted) if reason == "plan_start" else 0


def lapsed_credits(*, expired: int, available: int, reserved: int) -> int:
    """What an expiry takes: never below what running jobs hold, since their settlement
    comes out of what is left."""
    return max(0, min(expired, available - reserved))
