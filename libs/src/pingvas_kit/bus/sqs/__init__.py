"""The SNS/SQS adapter: a topic per context, a queue (+ DLQ) per consumer, raw delivery.

Runs unchanged against AWS, LocalStack and moto's server; only `endpoint_url` differs.
The pieces: `_clients` (lifecycle, cached name lookups), `_provision` (topics, queues,
DLQs, policies, subscriptions and their filter policies), `_publish` (SNS PublishBatch)
and `_consume` (long polls, back-off, dead letters, heartbeat); `SqsBus` is all four."""

from __future__ import annotations

from ._consume import REASON_ATTRIBUTE, REASON_KIND_ATTRIBUTE, SqsConsuming
from ._provision import SqsProvisioning
from ._publish import SqsPublishing

__all__ = ["REASON_ATTRIBUTE", "REASON_KIND_ATTRIBUTE", "SqsBus"]


class SqsBus(SqsProvisioning, SqsPublishing, SqsConsuming):
    """The bus over SNS and SQS (aiobotocore). Open with `async with` or start()/close()."""
