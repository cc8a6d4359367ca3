"""Pingvas event contracts."""

from .base import REGISTRY, EventData, event
from .envelope import Envelope, new_envelope, new_traceparent
from .factories import envelope_of, example
from .registry import (
    ContractError,
    InvalidEventData,
    UnknownEventType,
    model_for,
    types_of,
    validate_data,
    validate_envelope,
)
from .services import (
    AccessError,
    AwsAccess,
    QueueGrant,
    S3Grant,
    ServiceSpec,
    SesEventsSpec,
    Workload,
    WorkQueueSpec,
    discover,
)

__all__ = [
    "REGISTRY",
    "AccessError",
    "AwsAccess",
    "ContractError",
    "Envelope",
    "EventData",
    "InvalidEventData",
    "QueueGrant",
    "S3Grant",
    "ServiceSpec",
    "SesEventsSpec",
    "WorkQueueSpec",
    "Workload",
    "UnknownEventType",
    "discover",
    "envelope_of",
    "event",
    "example",
    "model_for",
    "new_envelope",
    "new_traceparent",
    "types_of",
    "validate_data",
    "validate_envelope",
]
