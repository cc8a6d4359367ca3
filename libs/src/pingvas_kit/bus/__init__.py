"""The event bus: one interface, SNS/SQS and AMQP adapters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Bus, DeadLetter, Handler, PoisonMessage, PublishError, decode
from .topology import Subscription, Topology, build_topology

if TYPE_CHECKING:
    from ..settings import ServiceSettings


def make_bus(settings: ServiceSettings, topology: Topology) -> Bus:
    """The adapter the settings ask for (SNS/SQS by default, AMQP with bus=amqp)."""
    bus = _adapter(settings, topology)
    if settings.bus_publish_copies > 1:  # the fault suite's duplicates (test setting)
        from ._copies import CopyingBus

        return CopyingBus(bus, settings.bus_publish_copies)
    return bus


def _adapter(settings: ServiceSettings, topology: Topology) -> Bus:
    if settings.bus == "amqp":
        from .amqp import AmqpBus

        return AmqpBus(topology, url=settings.amqp_url.get_secret_value())
    from .sqs import SqsBus

    return SqsBus(
        topology,
        endpoint_url=settings.aws_endpoint_url,
        region=settings.aws_region,
        access_key_id=settings.aws_access_key_id,
        secret_access_key=settings.aws_secret_access_key,
        wait_seconds=settings.bus_wait_seconds,
        visibility_timeout=settings.bus_visibility_timeout,
    )


__all__ = [
    "Bus",
    "DeadLetter",
    "Handler",
    "PoisonMessage",
    "PublishError",
    "Subscription",
    "Topology",
    "build_topology",
    "decode",
    "make_bus",
]
