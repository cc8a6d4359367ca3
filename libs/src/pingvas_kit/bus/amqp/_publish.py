"""Publishing on the events exchange, the CloudEvents `type` as routing key, confirmed.

Every envelope is tried; those the broker did not confirm are named in one PublishError."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import aio_pika

from pingvas_contracts import Envelope

from ..base import PublishError, log
from ._clients import AmqpClients, _describe

CONTENT_TYPE = "application/json"


class AmqpPublishing(AmqpClients):
    """publish(): envelopes to the events exchange."""

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        if not envelopes:
            return
        exchange, _ = self._publisher()

        async def one(envelope: Envelope) -> None:
            headers: dict[str, Any] = {"type": envelope.type}
            if envelope.tenantid is not None:
                headers["tenantid"] = envelope.tenantid
            if envelope.traceparent is not None:
                headers["traceparent"] = envelope.traceparent
            message = aio_pika.Message(
                envelope.to_json().encode(),
                content_type=CONTENT_TYPE,
                message_id=envelope.id,
                headers=headers,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )
            # not mandatory: an event no consumer subscribes to is accepted and dropped,
            # as SNS does; otherwise the outbox would stall on it forever
            await exchange.publish(
                message, routing_key=envelope.type, mandatory=False, timeout=self.publish_timeout
            )

        results = await asyncio.gather(*(one(e) for e in envelopes), return_exceptions=True)
        failed = [(e.id, r) for e, r in zip(envelopes, results, strict=True) if r is not None]
        if failed:
            for event_id, error in failed:
                log.warning("bus.publish_failed", event_id=event_id, error=_describe(error))
            raise PublishError([i for i, _ in failed], _describe(failed[0][1]))
