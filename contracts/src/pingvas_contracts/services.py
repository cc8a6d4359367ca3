"""What each service declares about itself: the events it publishes and consumes.

The catalog, the bus topology (SNS topics, SQS queues, filter policies, AMQP bindings)
and Terraform all read these declarations; nothing is listed twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    #: the bounded context whose SNS topic this service publishes to (None: publishes nothing)
    context: str | None
    description: str
    publishes: tuple[str, ...] = field(default_factory=tuple)
    consumes: tuple[str, ...] = field(default_factory=tuple)


def discover() -> dict[str, ServiceSpec]:
    """Every installed service's spec, by name (entry point group `pingvas.services`)."""

    specs: dict[str, ServiceSpec] = {}
    for ep in entry_points(group="pingvas.services"):
        spec = ep.load()
        if not isinstance(spec, ServiceSpec):
            raise TypeError(f"entry point {ep.name} is not a ServiceSpec")
        specs[spec.name] = spec
    return dict(sorted(specs.items()))


def discover_report() -> tuple[dict[str, ServiceSpec], list[str]]:
    """Like discover(), but an entry point that fails to load is reported, not raised:
    returns the specs that loaded and one message per failure (for the catalog tools)."""

    specs: dict[str, ServiceSpec] = {}
    errors: list[str] = []
    for ep in entry_points(group="pingvas.services"):
        try:
            spec = ep.load()
        except Exception as exc:  # an unfinished or broken service must not hide the others
            errors.append(f"service entry point {ep.name} ({ep.value}) failed to load: {exc!r}")
            continue
        if not isinstance(spec, ServiceSpec):
            errors.append(f"service entry point {ep.name} ({ep.value}) is not a ServiceSpec")
            continue
        if spec.name in specs:
            errors.append(f"service name {spec.name!r} is declared by two entry points")
            continue
        specs[spec.name] = spec
    return dict(sorted(specs.items())), errors
