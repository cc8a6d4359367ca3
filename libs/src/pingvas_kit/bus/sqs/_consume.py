"""Consuming from SQS: long polls, handlers, deletes, back-off, dead letters, heartbeat.

Each received batch (up to 10 messages) goes to a batch handler (EventConsumer) in one
call, so its events share one transaction; a plain handler is called per message,
concurrently. The messages handled (and those dead-lettered) are deleted with one
DeleteMessageBatch.

A poison message is sent to the DLQ by us, with a `reason` attribute, and deleted; a
failing handler's message is made visible again after a back-off, and after the
topology's max receive count it is dead-lettered too (the queue's redrive policy is the
safety net for a consumer that dies mid-way). A heartbeat keeps extending the visibility
of the messages still being handled, so a slow handler is never raced by a redelivery to
another replica."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Any

from botocore.exceptions import ClientError

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
from ._clients import SqsClients, _error_code

#: message attributes a dead letter carries: why it was dead-lettered, and a short label
REASON_ATTRIBUTE = "reason"
REASON_KIND_ATTRIBUTE = "reason_kind"
#: SQS allows at most 10 message attributes; we add `reason` and `reason_kind`
MAX_COPIED_ATTRIBUTES = 8
REASON_MAX_CHARS = 1000

_PURGE_IN_PROGRESS = {"AWS.SimpleQueueService.PurgeQueueInProgress", "PurgeQueueInProgress"}


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


class SqsConsuming(SqsClients):
    """consume(), and the dead-letter operations: dead_letters(), purge()."""

    async def consume(self, consumer: str, handler: Handler, *, stop: asyncio.Event) -> None:
        semaphore = asyncio.Semaphore(self.concurrency)
        await asyncio.gather(
            *(self._poll(consumer, handler, semaphore, stop) for _ in range(self.pollers))
        )

    async def _poll(
        self, consumer: str, handler: Handler, semaphore: asyncio.Semaphore, stop: asyncio.Event
    ) -> None:
        """One receive loop. Each received batch is handled and deleted in a task of its
        own while the loop already long-polls for the next, with at most
        `batches_in_flight` batches per loop at once: the round trips to the queue
        overlap the handlers' transactions instead of adding to them. A batch waits for a
        free slot before the next receive (so nothing sits received and unhandled), and
        the heartbeat covers every batch being handled; the inbox makes whatever comes
        back a no-op."""
        queue_name = self.topology.queue_name(consumer)
        delay = 0.5
        slots = asyncio.Semaphore(self.batches_in_flight)
        running: set[asyncio.Task[None]] = set()

        async def process(url: str, messages: list[dict[str, Any]]) -> None:
            try:
                await self._process_batch(consumer, url, messages, handler, semaphore)
            except Exception as exc:  # left in the queue: it comes back after the timeout
                log.warning("bus.consume_error", consumer=consumer, error=repr(exc))
            finally:
                slots.release()

        try:
            while not stop.is_set():
                try:
                    await slots.acquire()
                    try:
                        url = await self._queue_url(queue_name)
                        messages = await self._receive(url, stop)
                    except BaseException:
                        slots.release()
                        raise
                    delay = 0.5
                    if not messages:
                        slots.release()
                        continue
                    task = asyncio.create_task(process(url, messages))
                    running.add(task)
                    task.add_done_callback(running.discard)
                except Exception as exc:
                    log.warning(
                        "bus.consume_error", consumer=consumer, error=repr(exc), retry_in=delay
                    )
                    await _sleep_or_stop(stop, delay)
                    delay = min(delay * 2, 30.0)
        finally:
            # the batches already received are handled and deleted before consume() ends
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    async def _receive(self, url: str, stop: asyncio.Event) -> list[dict[str, Any]]:
        """One long poll, abandoned as soon as `stop` is set. (Messages the broker had
        already handed to an abandoned poll come back after their visibility timeout.)"""
        receive = asyncio.ensure_future(
            self._sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(10, self.concurrency),
                WaitTimeSeconds=self.wait_seconds,
                VisibilityTimeout=self.visibility_timeout,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
                MessageAttributeNames=["All"],
            )
        )
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({receive, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (receive, stopped):
                if not task.done():
                    task.cancel()
                    with suppress(asyncio.CancelledError):
                        await task
        if receive.cancelled():
            return []
        return receive.result().get("Messages", [])

    async def _process_batch(
        self,
        consumer: str,
        url: str,
        messages: list[dict[str, Any]],
        handler: Handler,
        semaphore: asyncio.Semaphore,
    ) -> None:
        # messages whose visibility the heartbeat keeps extending: handled ones stay in
        # until they are deleted; failed and dead-lettered ones leave at once
        in_flight = {str(i): m["ReceiptHandle"] for i, m in enumerate(messages)}
        visibility_lock = asyncio.Lock()
        heartbeat = asyncio.create_task(self._heartbeat(consumer, url, in_flight, visibility_lock))
        try:
            if batch_handler_of(handler) is None:
                outcomes = await asyncio.gather(
                    *(
                        self._process_one(
                            consumer, url, str(i), m, handler, semaphore, in_flight, visibility_lock
                        )
                        for i, m in enumerate(messages)
                    )
                )
            else:
                outcomes = await self._process_together(
                    consumer, url, messages, handler, semaphore, in_flight, visibility_lock
                )
        finally:
            async with visibility_lock:  # never cut a visibility call in half
                heartbeat.cancel()
            with suppress(asyncio.CancelledError):
                await heartbeat
        to_delete = [
            (str(i), m["ReceiptHandle"], outcome)
            for i, (m, outcome) in enumerate(zip(messages, outcomes, strict=True))
            if outcome is not None
        ]
        if not to_delete:
            return
        response = await self._sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": entry_id, "ReceiptHandle": rh} for entry_id, rh, _ in to_delete],
        )
        deleted = {entry["Id"] for entry in response.get("Successful", [])}
        for entry_id, _, counter in to_delete:
            if entry_id in deleted:
                if counter == "consumed":
                    CONSUMED.labels(consumer=consumer).inc()
            else:
                # it will come back; the consumer's inbox makes the second delivery a no-op
                log.warning("bus.delete_failed", consumer=consumer, entry=entry_id)

    async def _heartbeat(
        self, consumer: str, url: str, in_flight: dict[str, str], lock: asyncio.Lock
    ) -> None:
        interval = self.visibility_timeout / 3
        while True:
            await asyncio.sleep(interval)
            async with lock:
                if not in_flight:
                    continue
                try:
                    response = await self._sqs.change_message_visibility_batch(
                        QueueUrl=url,
                        Entries=[
                            {
                                "Id": entry_id,
                                "ReceiptHandle": rh,
                                "VisibilityTimeout": self.visibility_timeout,
                            }
                            for entry_id, rh in in_flight.items()
                        ],
                    )
                    if response.get("Failed"):
                        log.warning(
                            "bus.heartbeat_failed",
                            consumer=consumer,
                            failed=[f.get("Code") for f in response["Failed"]],
                        )
                except Exception as exc:
                    log.warning("bus.heartbeat_failed", consumer=consumer, error=repr(exc))

    async def _process_one(
        self,
        consumer: str,
        url: str,
        entry_id: str,
        message: dict[str, Any],
        handler: Handler,
        semaphore: asyncio.Semaphore,
        in_flight: dict[str, str],
        lock: asyncio.Lock,
    ) -> str | None:
        """Handle one message; returns what to count once it is deleted ("consumed" or
        "dead_lettered"), or None to leave it in the queue."""
        async with semaphore:
            try:
                envelope = decode(message["Body"])
            except PoisonMessage as poison:
                return await self._dead_letter(
                    consumer, message, poison.kind, poison.reason, in_flight, entry_id
                )
            try:
                await handler(envelope)
            except Exception as exc:
                return await self._handler_failed(
                    consumer, url, entry_id, message, envelope, exc, in_flight, lock
                )
        return "consumed"

    async def _process_together(
        self,
        consumer: str,
        url: str,
        messages: list[dict[str, Any]],
        handler: Handler,
        semaphore: asyncio.Semaphore,
        in_flight: dict[str, str],
        lock: asyncio.Lock,
    ) -> list[str | None]:
        """A batch handler's way: poison messages dead-lettered, the others handed over
        in one call. The same outcomes as `_process_one`, in the messages' order."""
        outcomes: dict[str, str | None] = {}
        decoded: list[tuple[str, dict[str, Any], Envelope]] = []
        poisoned: list[tuple[str, dict[str, Any], PoisonMessage]] = []
        for i, message in enumerate(messages):
            try:
                decoded.append((str(i), message, decode(message["Body"])))
            except PoisonMessage as poison:
                poisoned.append((str(i), message, poison))
        dead = asyncio.gather(
            *(
                self._dead_letter(consumer, m, poison.kind, poison.reason, in_flight, entry_id)
                for entry_id, m, poison in poisoned
            )
        )
        if decoded:
            async with semaphore:
                errors = await run_handler(handler, [envelope for _, _, envelope in decoded])
            logged: set[int] = set()  # a batch failing whole: its traceback once
            for (entry_id, message, envelope), error in zip(decoded, errors, strict=True):
                if error is None:
                    outcomes[entry_id] = "consumed"
                    continue
                traceback = id(error) not in logged
                logged.add(id(error))
                outcomes[entry_id] = await self._handler_failed(
                    consumer, url, entry_id, message, envelope, error, in_flight, lock, traceback
                )
        for (entry_id, _, _), outcome in zip(poisoned, await dead, strict=True):
            outcomes[entry_id] = outcome
        return [outcomes[str(i)] for i in range(len(messages))]

    async def _handler_failed(
        self,
        consumer: str,
        url: str,
        entry_id: str,
        message: dict[str, Any],
        envelope: Envelope,
        exc: Exception,
        in_flight: dict[str, str],
        lock: asyncio.Lock,
        traceback: bool = True,
    ) -> str | None:
        """Back off (None: it stays in the queue), or dead-letter it after the topology's
        max receive count."""
        receive_count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        HANDLER_ERRORS.labels(consumer=consumer).inc()
        log.error(
            "bus.handler_failed",
            consumer=consumer,
            event_id=envelope.id,
            event_type=envelope.type,
            message_id=message.get("MessageId"),
            receive_count=receive_count,
            **({"exc_info": exc_info(exc)} if traceback else {"error": repr(exc)[:300]}),
        )
        if receive_count >= self.topology.max_receive_count:
            reason = f"handler failed {receive_count} times (last: {type(exc).__name__})"
            return await self._dead_letter(
                consumer, message, "handler_failed", reason, in_flight, entry_id
            )
        await self._back_off(consumer, url, entry_id, message, receive_count, in_flight, lock)
        return None

    async def _back_off(
        self,
        consumer: str,
        url: str,
        entry_id: str,
        message: dict[str, Any],
        receive_count: int,
        in_flight: dict[str, str],
        lock: asyncio.Lock,
    ) -> None:
        delay = min(self.retry_base_delay * 2 ** max(receive_count - 1, 0), self.retry_max_delay)
        async with lock:
            in_flight.pop(entry_id, None)
            try:
                await self._sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=delay
                )
            except Exception as exc:
                # it still comes back, after the visibility timeout instead
                log.warning("bus.backoff_failed", consumer=consumer, error=repr(exc))

    async def _dead_letter(
        self,
        consumer: str,
        message: dict[str, Any],
        kind: str,
        reason: str,
        in_flight: dict[str, str],
        entry_id: str,
    ) -> str | None:
        attributes = {
            name: value
            for name, value in message.get("MessageAttributes", {}).items()
            if name not in (REASON_ATTRIBUTE, REASON_KIND_ATTRIBUTE)
            and value.get("DataType", "").split(".")[0] in ("String", "Number")
            and value.get("StringValue")
        }
        attributes = dict(list(attributes.items())[:MAX_COPIED_ATTRIBUTES])
        attributes[REASON_ATTRIBUTE] = {
            "DataType": "String",
            "StringValue": (reason or kind)[:REASON_MAX_CHARS],
        }
        attributes[REASON_KIND_ATTRIBUTE] = {"DataType": "String", "StringValue": kind}
        try:
            await self._sqs.send_message(
                QueueUrl=await self._queue_url(self.topology.dlq_name(consumer)),
                MessageBody=message["Body"],
                MessageAttributes=attributes,
            )
        except Exception as exc:
            # left in the queue: it comes back, and the redrive policy catches it at last
            in_flight.pop(entry_id, None)
            log.warning(
                "bus.dead_letter_failed",
                consumer=consumer,
                message_id=message.get("MessageId"),
                error=repr(exc),
            )
            return None
        DEAD_LETTERED.labels(consumer=consumer, reason=kind).inc()
        log.warning(
            "bus.dead_lettered",
            consumer=consumer,
            reason=reason,
            reason_kind=kind,
            message_id=message.get("MessageId"),
        )
        return "dead_lettered"

    # -- operations --------------------------------------------------------------------

    async def dead_letters(self, consumer: str, *, max_messages: int = 10) -> list[DeadLetter]:
        url = await self._queue_url(self.topology.dlq_name(consumer))
        letters: list[DeadLetter] = []
        while len(letters) < max_messages:
            response = await self._sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(10, max_messages - len(letters)),
                WaitTimeSeconds=1,
                MessageAttributeNames=["All"],
            )
            messages = response.get("Messages", [])
            if not messages:
                break
            for message in messages:
                reason = (
                    message.get("MessageAttributes", {})
                    .get(REASON_ATTRIBUTE, {})
                    .get("StringValue")
                )
                letters.append(DeadLetter(body=message["Body"], reason=reason))
            await self._sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            )
        return letters

    async def dead_letter_depth(self, consumer: str) -> int | None:
        url = await self._queue_url(self.topology.dlq_name(consumer))
        response = await self._sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(response.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))

    async def redrive(self, consumer: str, *, max_messages: int = 100) -> int:
        """Each dead letter is sent to the source queue before it is deleted from the DLQ:
        a crash in between leaves it in both (the consumer's inbox makes that harmless).
        At most the messages the DLQ held when it began: a running consumer dead-letters
        a poison message again at once, which must not be moved round and round."""
        source = await self._queue_url(self.topology.queue_name(consumer))
        dlq = await self._queue_url(self.topology.dlq_name(consumer))
        attributes = await self._sqs.get_queue_attributes(
            QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]
        )
        waiting = int(attributes["Attributes"].get("ApproximateNumberOfMessages", "0"))
        max_messages = min(max_messages, waiting)
        moved = 0
        while moved < max_messages:
            messages = (
                await self._sqs.receive_message(
                    QueueUrl=dlq,
                    MaxNumberOfMessages=min(10, max_messages - moved),
                    WaitTimeSeconds=1,
                    VisibilityTimeout=60,
                    MessageAttributeNames=["All"],
                )
            ).get("Messages", [])
            if not messages:
                break
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": m["Body"],
                    "MessageAttributes": {
                        name: value
                        for name, value in m.get("MessageAttributes", {}).items()
                        if name not in (REASON_ATTRIBUTE, REASON_KIND_ATTRIBUTE)
                        and value.get("DataType", "").split(".")[0] in ("String", "Number")
                        and value.get("StringValue")
                    },
                }
                for i, m in enumerate(messages)
            ]
            response = await self._sqs.send_message_batch(QueueUrl=source, Entries=entries)
            sent = {entry["Id"] for entry in response.get("Successful", [])}
            if sent:
                await self._sqs.delete_message_batch(
                    QueueUrl=dlq,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(messages)
                        if str(i) in sent
                    ],
                )
            moved += len(sent)
            if len(sent) < len(messages):
                # the rest reappear in the DLQ after the visibility timeout
                log.warning(
                    "bus.redrive_failed", consumer=consumer, failed=len(messages) - len(sent)
                )
                break
        log.info("bus.redriven", consumer=consumer, messages=moved)
        return moved

    async def purge(self, consumer: str) -> None:
        for name in (self.topology.queue_name(consumer), self.topology.dlq_name(consumer)):
            try:
                await self._sqs.purge_queue(QueueUrl=await self._queue_url(name))
            except ClientError as exc:
                if _error_code(exc) not in _PURGE_IN_PROGRESS:
                    raise
