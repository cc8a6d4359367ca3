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
delivery limit dead-letters it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustConnection,
)
from aio_pika.exceptions import ChannelPreconditionFailed

from pingvas_contracts import Envelope

from .base import (
    CONSUMED,
    DEAD_LETTERED,
    HANDLER_ERRORS,
    Bus,
    DeadLetter,
    Handler,
    PoisonMessage,
    PublishError,
    decode,
    log,
)
from .topology import Topology

REASON_HEADER = "x-pingvas-reason"
REASON_KIND_HEADER = "x-pingvas-reason-kind"
CONTENT_TYPE = "application/json"


class AmqpBus(Bus):
    """The bus over RabbitMQ (3.10+: quorum queues with at-least-once dead-lettering).

    One robust connection per process; one channel with publisher confirms for
    publishing (and for moving poison messages to the DLX), one channel per consumer
    with a prefetch of `concurrency`."""

    def __init__(
        self,
        topology: Topology,
        *,
        url: str,
        concurrency: int = 10,
        retry_delay: float = 0.5,
        max_retry_delay: float = 10.0,
        publish_timeout: float = 30.0,
        shutdown_grace: float = 30.0,
        connection_name: str | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        super().__init__(topology)
        self._url = url
        self.concurrency = concurrency
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.publish_timeout = publish_timeout
        self.shutdown_grace = shutdown_grace
        self._connection_name = connection_name or f"pingvas-bus:{topology.prefix}"
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._dead_letter_exchange: AbstractExchange | None = None
        self._start_lock = asyncio.Lock()

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        async with self._start_lock:
            if self._connection is not None and not self._connection.is_closed:
                return
            self._connection = await aio_pika.connect_robust(
                self._url, client_properties={"connection_name": self._connection_name}
            )
            # returned (unroutable) messages raise instead of passing silently
            self._publish_channel = await self._connection.channel(
                publisher_confirms=True, on_return_raises=True
            )
            self._exchange = await self._publish_channel.get_exchange(
                self.topology.exchange_name(), ensure=False
            )
            self._dead_letter_exchange = await self._publish_channel.get_exchange(
                self.topology.dead_letter_exchange_name(), ensure=False
            )

    async def close(self) -> None:
        channel, connection = self._publish_channel, self._connection
        self._publish_channel = self._exchange = self._dead_letter_exchange = None
        self._connection = None
        if channel is not None and not channel.is_closed:
            with contextlib.suppress(Exception):
                await channel.close()
        if connection is not None and not connection.is_closed:
            await connection.close()

    async def ping(self) -> None:
        connection = self._require_connection()
        if not connection.connected.is_set():
            raise ConnectionError("AMQP connection is down (reconnecting)")
        # a real round trip: open and close a channel
        channel = await asyncio.wait_for(connection.channel(publisher_confirms=False), 5)
        await channel.close()

    def _require_connection(self) -> AbstractRobustConnection:
        if self._connection is None or self._connection.is_closed:
            raise ConnectionError("AMQP bus is not started (or closed)")
        return self._connection

    # -- provisioning ------------------------------------------------------------------

    def queue_arguments(self, consumer: str) -> dict[str, Any]:
        """The arguments of a consumer's quorum queue (identical on every declaration)."""
        return {
            "x-queue-type": "quorum",
            # RabbitMQ delivers a message limit+1 times before dead-lettering it (checked on
            # 3.10); SQS's maxReceiveCount counts all deliveries, hence the -1
            "x-delivery-limit": max(0, self.topology.max_receive_count - 1),
            "x-dead-letter-exchange": self.topology.dead_letter_exchange_name(),
            "x-dead-letter-routing-key": self.topology.dlq_name(consumer),
            # at-least-once dead-lettering (RabbitMQ 3.10+, needs reject-publish)
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }

    @staticmethod
    def dlq_arguments() -> dict[str, Any]:
        return {"x-queue-type": "quorum"}

    async def provision(self) -> None:
        connection = self._require_connection()
        topo = self.topology
        # a throwaway channel: a failed declaration closes it, never the publishing one
        channel = await connection.channel(publisher_confirms=False)
        try:
            exchange = await channel.declare_exchange(
                topo.exchange_name(), aio_pika.ExchangeType.TOPIC, durable=True
            )
            dlx = await channel.declare_exchange(
                topo.dead_letter_exchange_name(), aio_pika.ExchangeType.DIRECT, durable=True
            )
            for consumer in topo.consumers:
                dlq = await channel.declare_queue(
                    topo.dlq_name(consumer), durable=True, arguments=self.dlq_arguments()
                )
                await dlq.bind(dlx, routing_key=topo.dlq_name(consumer))
                queue = await channel.declare_queue(
                    topo.queue_name(consumer),
                    durable=True,
                    arguments=self.queue_arguments(consumer),
                )
                types = sorted({t for s in topo.subscriptions_of(consumer) for t in s.types})
                for type_ in types:
                    await queue.bind(exchange, routing_key=type_)
        except ChannelPreconditionFailed as exc:
            raise RuntimeError(
                "AMQP provisioning conflicts with an existing exchange or queue declared with "
                f"other arguments (delete it or use another prefix): {exc}"
            ) from exc
        finally:
            if not channel.is_closed:
                await channel.close()
        log.info(
            "bus.provisioned",
            exchange=topo.exchange_name(),
            consumers=list(topo.consumers),
        )

    # -- publishing --------------------------------------------------------------------

    def _publisher(self) -> tuple[AbstractExchange, AbstractExchange]:
        self._require_connection()
        if self._exchange is None or self._dead_letter_exchange is None:
            raise ConnectionError("AMQP bus is not started")
        return self._exchange, self._dead_letter_exchange

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

    # -- consuming ---------------------------------------------------------------------

    async def consume(self, consumer: str, handler: Handler, *, stop: asyncio.Event) -> None:
        connection = self._require_connection()
        if consumer not in self.topology.consumers:
            raise ValueError(f"{consumer!r} is not a consumer of this topology")
        channel = await connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=self.concurrency)
        semaphore = asyncio.Semaphore(self.concurrency)
        in_flight: set[asyncio.Task[Any]] = set()

        async def on_message(message: AbstractIncomingMessage) -> None:
            task = asyncio.current_task()
            if task is not None:
                in_flight.add(task)
            try:
                async with semaphore:
                    await self._handle(consumer, handler, message, stop)
            finally:
                if task is not None:
                    in_flight.discard(task)

        tag: str | None = None
        try:
            # passive: consuming never creates a queue (provisioning does)
            queue = await channel.declare_queue(self.topology.queue_name(consumer), passive=True)
            tag = await queue.consume(on_message, no_ack=False)
            log.info("bus.consuming", consumer=consumer, queue=queue.name)
            await stop.wait()
        finally:
            if tag is not None and not channel.is_closed:
                with contextlib.suppress(Exception):
                    await queue.cancel(tag)
            if in_flight:
                # let handlers already running finish (their messages are acked or nacked)
                await asyncio.wait(set(in_flight), timeout=self.shutdown_grace)
            if not channel.is_closed:
                with contextlib.suppress(Exception):
                    await channel.close()
            log.info("bus.stopped", consumer=consumer)

    async def _handle(
        self,
        consumer: str,
        handler: Handler,
        message: AbstractIncomingMessage,
        stop: asyncio.Event,
    ) -> None:
        try:
            envelope = decode(message.body)
        except PoisonMessage as poison:
            await self._dead_letter(consumer, message, poison)
            return
        try:
            await handler(envelope)
        except Exception:  # noqa: BLE001 - any handler failure means: retry by redelivery
            HANDLER_ERRORS.labels(consumer=consumer).inc()
            attempt = _delivery_count(message)
            log.exception(
                "bus.handler_failed",
                consumer=consumer,
                event_id=envelope.id,
                type=envelope.type,
                attempt=attempt + 1,
            )
            # back off before handing it back, so a failing handler is no hot loop
            delay = min(self.retry_delay * (2**attempt), self.max_retry_delay)
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
            await _settle(message.nack(requeue=True), consumer, message)
            return
        await _settle(message.ack(), consumer, message)
        CONSUMED.labels(consumer=consumer).inc()

    async def _dead_letter(
        self, consumer: str, message: AbstractIncomingMessage, poison: PoisonMessage
    ) -> None:
        _, dlx = self._publisher()
        headers = dict(message.headers or {})
        headers[REASON_HEADER] = poison.reason
        headers[REASON_KIND_HEADER] = poison.kind
        copy = aio_pika.Message(
            message.body,
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            message_id=message.message_id,
            headers=headers,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            await dlx.publish(
                copy,
                routing_key=self.topology.dlq_name(consumer),
                mandatory=True,
                timeout=self.publish_timeout,
            )
        except Exception as exc:  # noqa: BLE001 - whatever failed, the message stays queued
            # not safely in the DLQ: leave it on the queue (the delivery limit still applies)
            log.error(
                "bus.dead_letter_failed",
                consumer=consumer,
                message_id=message.message_id,
                error=_describe(exc),
            )
            await _settle(message.nack(requeue=True), consumer, message)
            return
        await _settle(message.ack(), consumer, message)
        DEAD_LETTERED.labels(consumer=consumer, reason=poison.kind).inc()
        log.warning(
            "bus.dead_lettered",
            consumer=consumer,
            reason=poison.reason,
            kind=poison.kind,
            message_id=message.message_id,
        )

    # -- operations --------------------------------------------------------------------

    async def dead_letters(self, consumer: str, *, max_messages: int = 10) -> list[DeadLetter]:
        connection = self._require_connection()
        channel = await connection.channel(publisher_confirms=False)
        letters: list[DeadLetter] = []
        try:
            dlq = await channel.declare_queue(self.topology.dlq_name(consumer), passive=True)
            while len(letters) < max_messages:
                message = await dlq.get(no_ack=False, fail=False)
                if message is None:
                    break
                reason = (message.headers or {}).get(REASON_HEADER)
                if isinstance(reason, bytes):
                    reason = reason.decode("utf-8", errors="replace")
                letters.append(
                    DeadLetter(
                        body=message.body.decode("utf-8", errors="replace"),
                        reason=reason if isinstance(reason, str) else None,
                    )
                )
                await message.ack()
        finally:
            if not channel.is_closed:
                await channel.close()
        return letters

    async def purge(self, consumer: str) -> None:
        connection = self._require_connection()
        channel = await connection.channel(publisher_confirms=False)
        try:
            for name in (self.topology.queue_name(consumer), self.topology.dlq_name(consumer)):
                queue = await channel.declare_queue(name, passive=True)
                await queue.purge()
        finally:
            if not channel.is_closed:
                await channel.close()


def _delivery_count(message: AbstractIncomingMessage) -> int:
    """How many times the quorum queue delivered this message before (0 the first time)."""
    value = (message.headers or {}).get("x-delivery-count", 0)
    try:
        return max(0, int(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


async def _settle(settle: Any, consumer: str, message: AbstractIncomingMessage) -> None:
    try:
        await settle
    except Exception as exc:  # noqa: BLE001 - a lost ack/nack only means a redelivery
        # channel gone (broker restart): the broker redelivers it, at least once holds
        log.warning(
            "bus.settle_failed",
            consumer=consumer,
            message_id=message.message_id,
            error=_describe(exc),
        )


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


__all__ = ["AmqpBus"]
