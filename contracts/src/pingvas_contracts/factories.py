"""Events for tests, built from the examples every contract registers.

    completed = example(JobCompleted, job_id=job_id, credits=3)
    envelope = envelope_of(completed, tenant_id=tenant_id)

An example is the contract's own first example (or the `index`-th) with the given fields
replaced, validated like any published event: a test cannot build an event its consumers
would reject, and a field a contract adds reaches every test through its example.
"""

from __future__ import annotations

from typing import Any, TypeVar

from .base import EventData
from .envelope import Envelope, new_envelope, new_traceparent

M = TypeVar("M", bound=EventData)


def example(model: type[M], /, index: int = 0, **fields: Any) -> M:
    """`model`'s registered example number `index`, with `fields` replaced."""
    base = dict(model.EXAMPLES[index])
    unknown = set(fields) - set(model.model_fields)
    if unknown:
        raise TypeError(f"{model.__name__} has no field(s) {sorted(unknown)}")
    return model.model_validate({**base, **fields})


def envelope_of(
    data: EventData,
    *,
    tenant_id: str | None,
    source: str | None = None,
    event_id: str | None = None,
    subject: str | None = None,
    traceparent: str | None = None,
) -> Envelope:
    """An envelope carrying `data` as its publisher would send it (source defaults to the
    publishing context)."""
    return new_envelope(
        data.TYPE,
        data.model_dump(mode="json"),
        source=source or data.CONTEXT,
        tenant_id=tenant_id,
        traceparent=traceparent or new_traceparent(),
        subject=subject,
        event_id=event_id,
    )
