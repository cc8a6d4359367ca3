"""The plans Pingvas sells and what each allows: the one reviewed definition that billing
sells and render enforces (render applies the Free plan on `tenant.created` until billing
says otherwise). Lemon Squeezy variant ids live with billing's configuration."""

from __future__ import annotations

from types import MappingProxyType

from .events.billing import Entitlements

PLANS: MappingProxyType[str, Entitlements] = MappingProxyType(
    {
        "free": Entitlements(
            monthly_credits=50,
            max_concurrent_jobs=1,
            max_images_per_job=2,
            max_width=1024,
            max_height=1024,
            allowed_models=["sd-1.5", "sdxl-turbo"],
            priority_weight=1,
        ),
        "starter": Entitlements(
            monthly_credits=500,
            max_concurrent_jobs=2,
            max_images_per_job=4,
            max_width=1536,
            max_height=1536,
            allowed_models=["sd-1.5", "sdxl-turbo", "sdxl-base-1.0"],
            priority_weight=2,
        ),
        "pro": Entitlements(
            monthly_credits=2000,
            max_concurrent_jobs=4,
            max_images_per_job=8,
            max_width=2048,
            max_height=2048,
            allowed_models=["sd-1.5", "sdxl-turbo", "sdxl-base-1.0", "flux-schnell"],
            priority_weight=4,
        ),
        "team": Entitlements(
            monthly_credits=6000,
            max_concurrent_jobs=8,
            max_images_per_job=16,
            max_width=2048,
            max_height=2048,
            allowed_models=["sd-1.5", "sdxl-turbo", "sdxl-base-1.0", "flux-schnell"],
            priority_weight=8,
        ),
    }
)
