"""The price formula and the checks of a generation request against the model catalog and
the tenant's plan (docs/render.md, "Money" and "Public API")."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, get_args

from pingvas_contracts.events.render import Scheduler
from pingvas_kit.problems import register_field_codes

from ..catalog import Catalog, CatalogModel
from .errors import Invalid

SCHEDULERS = frozenset(get_args(Scheduler))
MIN_SIZE = 64

#: what is wrong with one field of a request, stable (`errors[].code`, with `params`)
UNKNOWN_MODEL, MODEL_NOT_IN_PLAN, UNKNOWN_SCHEDULER, TOO_MANY_IMAGES = register_field_codes(
    "unknown-model", "model-not-in-plan", "unknown-scheduler", "too-many-images"
)
NOT_A_MULTIPLE, OUT_OF_RANGE = register_field_codes("not-a-multiple", "out-of-range")


def credits_per_image(model: CatalogModel, width: int, height: int, steps: int) -> int:
    per = math.ceil(model.credit_factor * (width * height) / (512 * 512) * steps / 25)
    return max(1, per)


def price(model: CatalogModel, width: int, height: int, steps: int, num_images: int) -> int:
    return num_images * credits_per_image(model, width, height, steps)


@dataclass(frozen=True)
class Limits:
    """What the tenant's plan allows (a row of `entitlements`)."""

    max_images_per_job: int
    max_width: int
    max_height: int
    allowed_models: tuple[str, ...]


def limits_of(ent: Any) -> Limits:
    """The limits of a tenant's entitlements (its `entitlements` row, or anything with
    those attributes)."""
    return Limits(
        max_images_per_job=ent.max_images_per_job,
        max_width=ent.max_width,
        max_height=ent.max_height,
        allowed_models=tuple(ent.allowed_models),
    )


def allowed_models(catalog: Catalog, limits: Limits, *, test_models: bool) -> list[CatalogModel]:
    return [m for m in catalog if m.key in limits.allowed_models or (m.test and test_models)]


def resolve_request(
    body: dict[str, Any], catalog: Catalog, limits: Limits, *, test_models: bool
) -> tuple[dict[str, Any], CatalogModel]:
    """The request with the model's defaults filled in, checked against the model and the
    plan; raises Invalid with every problem found."""
    errors: list[dict[str, Any]] = []

    def bad(field: str, message: str, code: str, **params: int) -> None:
        item: dict[str, Any] = {"field": field, "message": message, "code": code}
        if params:
            item["params"] = params
        errors.append(item)

    model = catalog.get(body["model"])
    allowed = {m.key for m in allowed_models(catalog, limits, test_models=test_models)}
    if model is None:
        bad("model", f"Unknown model {body['model']!r}.", UNKNOWN_MODEL)
        raise Invalid(errors)
    if model.key not in allowed:
        bad("model", f"Your plan does not include the model {model.key!r}.", MODEL_NOT_IN_PLAN)
        raise Invalid(errors)
    request = {
        "prompt": body["prompt"],
        "negative_prompt": body.get("negative_prompt") or "",
        "model": model.key,
        "width": body.get("width") or model.default_width,
        "height": body.get("height") or model.default_height,
        "steps": body.get("steps") or model.default_steps,
        "cfg_scale": (
            body["cfg_scale"] if body.get("cfg_scale") is not None else model.default_cfg_scale
        ),
        "scheduler": body.get("scheduler") or model.default_scheduler,
        "seed": body.get("seed"),
        "num_images": body.get("num_images") or 1,
    }
    for side, model_max, plan_max in (
        ("width", model.max_width, limits.max_width),
        ("height", model.max_height, limits.max_height),
    ):
        value, most = request[side], min(model_max, plan_max)
        if value % 8:
            bad(side, f"{side} must be a multiple of 8.", NOT_A_MULTIPLE, multiple_of=8)
        elif not MIN_SIZE <= value <= most:
            bad(
                side,
                f"{side} must be between {MIN_SIZE} and {most} for {model.key} on your plan.",
                OUT_OF_RANGE,
                min=MIN_SIZE,
                max=most,
            )
    if not 1 <= request["steps"] <= min(150, model.max_steps):
        most = min(150, model.max_steps)
        bad(
            "steps",
            f"steps must be between 1 and {most} for {model.key}.",
            OUT_OF_RANGE,
            min=1,
            max=most,
        )
    if not 1.0 <= request["cfg_scale"] <= 30.0:
        bad("cfg_scale", "cfg_scale must be between 1 and 30.", OUT_OF_RANGE, min=1, max=30)
    if not 1 <= request["num_images"] <= limits.max_images_per_job:
        bad(
            "num_images",
            f"Your plan allows 1 to {limits.max_images_per_job} images per job.",
            TOO_MANY_IMAGES,
            max=limits.max_images_per_job,
        )
    if request["scheduler"] not in SCHEDULERS:
        bad("scheduler", f"Unknown scheduler {request['scheduler']!r}.", UNKNOWN_SCHEDULER)
    if errors:
        raise Invalid(errors)
    return request, model
