"""The AMQP adapter (RabbitMQ, aio-pika), for deployments without AWS.

Topology on the broker:

- one durable *topic* exchange `<prefix>.events`; the routing key of every message is its
  CloudEvents `type`, so a consumer's queue is bound once per type it consumes (the
  AMQP counterpart of an SNS subscription with a filter policy on `type`);
- one durable *direct* dead-letter exchange `<prefix>.dead-letter`;
- per consumer a durable quorum queue `<prefix>-<consumer>` whose delivery limit is the
  topology's max receive count and whose dead letters go (at least once) to the DLX with
  the routing key `<prefix>-<consumer>-dlq`, and that DLQ, bound to the DLX by its name.

A poison message is republished by the consumer itself to the DLX, carrying its reason in
the `x-pingvas-reason` / `x-pingvas-reason-kind` headers, then acknowledged. A handler that
raises is rejected back to the queue (after a short backoff) until the quorum queue's
delivery limit dead-letters it.

The pieces: `_clients` (the connection and publishing channel), `_provision`, `_publish`
and `_consume` (with the dead-letter operations); `AmqpBus` is all four."""

from __future__ import annotations

from ._consume import REASON_HEADER, REASON_KIND_HEADER, AmqpConsuming
from ._provision import AmqpProvisioning
from ._publish import AmqpPublishing

__all__ = ["REASON_HEADER", "REASON_KIND_HEADER", "AmqpBus"]


class AmqpBus(AmqpProvisioning, AmqpPublishing, AmqpConsuming):
    """The bus over RabbitMQ (3.10+: quorum queues with at-least-once dead-lettering).

    One robust connection per process; one channel with publisher confirms for
    publishing (and for moving poison messages to the DLX), one channel per consumer
    with a prefetch of `concurrency`."""
