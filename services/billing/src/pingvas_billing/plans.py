"""The plans billing sells: `plans.toml` (price, Lemon Squeezy variants per interval, the
credit rule) joined with what each plan allows, `pingvas_contracts.plans.PLANS`."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from pingvas_contracts.events.billing import Entitlements
from pingvas_contracts.plans import PLANS

DEFAULT_FILE = Path(__file__).with_name("plans.toml")
FREE = "free"
INTERVALS: tuple[Interval, ...] = ("month", "year")

Interval = Literal["month", "year"]


@dataclass(frozen=True)
class Plan:
    code: str
    name: str
    entitlements: Entitlements
    currency: str
    #: price per interval, minor units; empty for Free
    prices: Mapping[str, int] = field(default_factory=dict)
    #: Lemon Squeezy variant id per interval; empty for Free
    variants: Mapping[str, str] = field(default_factory=dict)
    #: unused credits carry over to the next period (false: they expire)
    rollover: bool = False

    @property
    def monthly_credits(self) -> int:
        return self.entitlements.monthly_credits

    @property
    def is_free(self) -> bool:
        return self.code == FREE


class PlanError(ValueError):
    pass


class Plans:
    """The catalogue, in the order of plans.toml (cheapest first)."""

    def __init__(self, plans: list[Plan]) -> None:
        self._plans = {p.code: p for p in plans}
        self._by_variant: dict[str, tuple[Plan, Interval]] = {}
        for plan in plans:
            for interval, variant in plan.variants.items():
                if variant in self._by_variant:
                    raise PlanError(f"variant {variant} is listed twice")
                self._by_variant[variant] = (plan, interval)  # type: ignore[assignment]
        if FREE not in self._plans:
            raise PlanError("plans.toml needs the free plan")

    def __iter__(self) -> Iterator[Plan]:
        return iter(self._plans.values())

    def __getitem__(self, code: str) -> Plan:
        return self._plans[code]

    def get(self, code: str | None) -> Plan | None:
        return self._plans.get(code) if code else None

    @property
    def free(self) -> Plan:
        return self._plans[FREE]

    def by_variant(self, variant_id: str | int | None) -> tuple[Plan, Interval] | None:
        """(plan, interval) a Lemon Squeezy variant sells, or None for a variant no plan lists."""
        if variant_id is None:
            return None
        return self._by_variant.get(str(variant_id))


def load_plans(path: Path | None = None) -> Plans:
    path = path or DEFAULT_FILE
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    currency = str(raw.get("currency", "USD"))
    plans: list[Plan] = []
    for code, spec in raw.get("plans", {}).items():
        if code not in PLANS:
            raise PlanError(f"{path}: plan {code!r} is not in pingvas_contracts.plans.PLANS")
        prices = {k: int(v) for k, v in spec.get("price", {}).items()}
        variants = {k: str(v) for k, v in spec.get("variants", {}).items()}
        for interval in (*prices, *variants):
            if interval not in INTERVALS:
                raise PlanError(f"{path}: plan {code!r}: unknown interval {interval!r}")
        if code == FREE and (prices or variants):
            raise PlanError(f"{path}: the free plan has no price and no variant")
        if code != FREE and set(prices) != set(variants):
            raise PlanError(f"{path}: plan {code!r} needs a price for each variant")
        plans.append(
            Plan(
                code=code,
                name=str(spec.get("name", code.title())),
                entitlements=PLANS[code],
                currency=currency,
                prices=MappingProxyType(prices),
                variants=MappingProxyType(variants),
                rollover=bool(spec.get("rollover", False)),
            )
        )
    return Plans(plans)
