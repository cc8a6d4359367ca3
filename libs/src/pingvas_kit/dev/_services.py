"""Which services and workers run, and on which ports.

A service that cannot be loaded yet, or has no `__main__`, is skipped with a warning
rather than refusing the whole run. The gateway has --gateway-port; the others
--port-base + their PORT_OFFSETS entry, those not listed following in name order."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from importlib.metadata import entry_points

from pingvas_contracts import ServiceSpec, discover

from ._console import Console

GATEWAY = "gateway"
#: port = --port-base + offset; services not listed here follow in name order
PORT_OFFSETS = {"tenants": 1, "billing": 2, "render": 3, "mail": 4, "search": 5}


def discover_services(console: Console) -> dict[str, ServiceSpec]:
    """Every installed service's spec. discover() fails on the first entry point that cannot
    load; while services are being written, skip those instead of refusing to run."""

    try:
        return discover()
    except Exception:  # noqa: BLE001 - fall through to the tolerant listing below
        pass
    specs: dict[str, ServiceSpec] = {}
    for ep in entry_points(group="pingvas.services"):
        try:
            spec = ep.load()
        except Exception as exc:  # noqa: BLE001
            console.warn(
                f"service {ep.name!r} skipped: cannot load {ep.value} ({type(exc).__name__}: {exc})"
            )
            continue
        if not isinstance(spec, ServiceSpec):
            console.warn(f"service {ep.name!r} skipped: {ep.value} is not a ServiceSpec")
            continue
        specs[spec.name] = spec
    return dict(sorted(specs.items()))


def module_of(name: str) -> str:
    return f"pingvas_{name}"


#: entry points naming worker processes that run beside a service (e.g. render's GPU
#: worker): `render-worker = "pingvas_render.worker"` runs `python -m pingvas_render.worker`
#: whenever the render service runs; it must answer /healthz on its PORT once it can work
WORKERS_GROUP = "pingvas.workers"


def discover_workers() -> dict[str, str]:
    """{worker name: module}; a worker `<service>-...` runs with that service."""
    return {ep.name: ep.value for ep in entry_points(group=WORKERS_GROUP)}


def runnable(name: str) -> bool:
    """Whether `python -m pingvas_<name>` can run (the package has a __main__)."""
    try:
        return importlib.util.find_spec(f"{module_of(name)}.__main__") is not None
    except Exception:  # noqa: BLE001 - a package that fails to import is not runnable
        return False


def assign_ports(names: Sequence[str], *, gateway_port: int, port_base: int) -> dict[str, int]:
    """Stable ports: gateway on its own, known services at base+offset, others after them."""
    ports: dict[str, int] = {}
    following = port_base + max(PORT_OFFSETS.values()) + 1
    for name in sorted(names):
        if name == GATEWAY:
            ports[name] = gateway_port
        elif name in PORT_OFFSETS:
            ports[name] = port_base + PORT_OFFSETS[name]
        else:
            ports[name] = following
            following += 1
    return ports
