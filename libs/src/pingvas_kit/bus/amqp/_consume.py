"""Consuming from a consumer's quorum queue: handle, ack, nack with back-off, dead-letter.

A poison message is republished by the consumer itself to the DLX, its reason in the
`x-pingvas-reason` / `x-pingvas-reason-kind` headers, then acknowledged. A handler that
raises is rejected back to the queue (after a short backoff) until the quorum queue's
delivery limit dead-letters it. A lost ack or nack only means a redelivery.

A batch handler (EventConsumer) gets the deliveries in batches: two workers each take
what has arrived, up to half the prefetch window, and hand it over in one call, so its
events share one transaction; a plain handler is called per delivery."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from pingvas_contracts import Envelope

from ..base import (
    CONSUMED,
    DEAD_LETTERED,
    HANDLER_ERRORS,
    DeadLetter,
    Handler,
    PoisonMessage,
    batch_handler_of,
    decode,
    exc_info,
    log,
    run_handler,
)
from ._clients import AmqpClients, _describe

REASON_HEADER = "x-pingvas-reason"
REASON_KIND_HEADER = "x-pingvas-reason-kind"
#: batch workers per consume() call: one handles a batch while the other fills up
BATCH_WORKERS = 2


class AmqpConsuming(AmqpClients):
    """consume(), and the dead-letter operations: dead_letters(), purge()."""

    async def consume(self, consumer: str, handler: Handler, *, stop: asyncio.Event) -> None:
        connection = self._require_connection()
        if consumer not in self.topology.consumers:
            raise ValueError(f"{consumer!r} is not a consumer of this topology")
        channel = await connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=self.concurrency)
        semaphore = asyncio.Semaphore(self.concurrency)
        in_flight: set[asyncio.Task[Any]] = set()
        batched = batch_handler_of(handler) is not None
        arrived: asyncio.Queue[AbstractIncomingMessage | None] = asyncio.Queue()
        workers: list[asyncio.Task[None]] = []

        async def on_message(message: AbstractIncomingMessage) -> None:
            if batched:
                arrived.put_nowait(message)
                return
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
            if batched:
                size = max(1, self.concurrency // BATCH_WORKERS)
                workers = [
                    asyncio.create_task(
                        self._batch_worker(consumer, handler, arrived, size, in_flight, stop)
                    )
                    for _ in range(BATCH_WORKERS)
                ]
            tag = await queue.consume(on_message, no_ack=False)
            log.info("bus.consuming", consumer=consumer, queue=queue.name)
            await stop.wait()
        finally:
            if tag is not None and not channel.is_closed:
                with contextlib.suppress(Exception):
                    await queue.cancel(tag)
            if workers:
                # what arrived before is handled first; the rest is redelivered
                for _ in workers:
                    arrived.put_nowait(None)
                _, late = await asyncio.wait(workers, timeout=self.shutdown_grace)
                for worker in late:
                    worker.cancel()
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

    async def _batch_worker(
        self,
        consumer: str,
        handler: Handler,
        arrived: asyncio.Queue[AbstractIncomingMessage | None],
        size: int,
        in_flight: set[asyncio.Task[Any]],
        stop: asyncio.Event,
    ) -> None:
        """Take what has arrived (at least one delivery, at most `size`) and handle it as
        one batch, until a None says stop."""
        while True:
            first = await arrived.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < size and not arrived.empty():
                message = arrived.get_nowait()
                if message is None:
                    await self._handle_batch(consumer, handler, batch, in_flight, stop)
                    return
                batch.append(message)
            await self._handle_batch(consumer, handler, batch, in_flight, stop)

    async def _handle_batch(
        self,
        consumer: str,
        handler: Handler,
        batch: list[AbstractIncomingMessage],
        in_flight: set[asyncio.Task[Any]],
        stop: asyncio.Event,
    ) -> None:
        decoded: list[tuple[AbstractIncomingMessage, Envelope]] = []
        for message in batch:
            try:
                decoded.append((message, decode(message.body)))
            except PoisonMessage as poison:
                await self._dead_letter(consumer, message, poison)
        if not decoded:
            return
        errors = await run_handler(handler, [envelope for _, envelope in decoded])
        logged: set[int] = set()  # a batch failing whole: its traceback once
        for (message, envelope), error in zip(decoded, errors, strict=True):
            if error is None:
                await _settle(message.ack(), consumer, message)
                CONSUMED.labels(consumer=consumer).inc()
                continue
            HANDLER_ERRORS.labels(consumer=consumer).inc()
            attempt = _delivery_count(message)
            log.error(
                "bus.handler_failed",
                consumer=consumer,
                event_id=envelope.id,
                type=envelope.type,
                attempt=attempt + 1,
                **(
                    {"error": repr(error)[:300]}
                    if id(error) in logged
                    else {"exc_info": exc_info(error)}
                ),
            )
            logged.add(id(error))
            # handed back after a back-off (no hot loop), while the batches go on
            task = asyncio.create_task(self._nack_later(consumer, message, attempt, stop))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)

    async def _nack_later(
        self, consumer: str, message: AbstractIncomingMessage, attempt: int, stop: asyncio.Event
    ) -> None:
        delay = min(self.retry_delay * (2**attempt), self.max_retry_delay)
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
        await _settle(message.nack(requeue=True), consumer, message)

    async def _dead_letter(
        self, consumer: str, message: AbstractIncomingMessage, poison: PoisonMessage
    ) -> None:
        _, dlx = self._publisher()
        headers = dict(message.headers or {})
        headers[REASON_HEADER] = poison.reason
        headers[REASON_KIND_HEADER] = poison.kind
        copy = _copy(message, headers)
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

    async def redrive(self, consumer: str, *, max_messages: int = 100) -> int:
        """Each dead letter is published to the consumer's queue (through the default
        exchange, confirmed) before it is acknowledged on the DLQ: a crash in between
        leaves it in both, which the consumer's inbox makes harmless. Its reason headers
        and the broker's death records stay behind. At most the messages the DLQ held
        when it began, so a poison message dead-lettered again at once by a running
        consumer is not moved round and round."""
        connection = self._require_connection()
        channel = await connection.channel(publisher_confirms=True)
        moved = 0
        try:
            dlq = await channel.declare_queue(self.topology.dlq_name(consumer), passive=True)
            queue = self.topology.queue_name(consumer)
            await channel.declare_queue(queue, passive=True)  # it exists: nothing is dropped
            waiting = int(dlq.declaration_result.message_count or 0)
            while moved < min(max_messages, waiting):
                message = await dlq.get(no_ack=False, fail=False)
                if message is None:
                    break
                headers = {
                    name: value
                    for name, value in (message.headers or {}).items()
                    if name not in (REASON_HEADER, REASON_KIND_HEADER)
                    and not name.startswith("x-death")
                    and not name.startswith("x-first-death")
                    and not name.startswith("x-last-death")
                    and name != "x-delivery-count"
                }
                back = _copy(message, headers)
                try:
                    await channel.default_exchange.publish(
                        back, routing_key=queue, mandatory=True, timeout=self.publish_timeout
                    )
                except BaseException:
                    await _settle(message.nack(requeue=True), consumer, message)
                    raise
                await message.ack()
                moved += 1
        finally:
            if not channel.is_closed:
                await channel.close()
        log.info("bus.redriven", consumer=consumer, moved=moved)
        return moved

    async def dead_letter_depth(self, consumer: str) -> int | None:
        connection = self._require_connection()
        channel = await connection.channel(publisher_confirms=False)
        try:
            # a passive declare answers the queue's ready message count: nothing is taken
            dlq = await channel.declare_queue(self.topology.dlq_name(consumer), passive=True)
            return int(dlq.declaration_result.message_count or 0)
        finally:
            if not channel.is_closed:
                await channel.close()

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


def _copy(message: AbstractIncomingMessage, headers: dict[str, Any]) -> aio_pika.Message:
    """A persistent copy of a received message with other headers (to a DLQ, or back)."""
    return aio_pika.Message(
        message.body,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        message_id=message.message_id,
        headers=headers,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


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
