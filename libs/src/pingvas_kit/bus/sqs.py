"""The SNS/SQS adapter: a topic per context, a queue (+ DLQ) per consumer, raw delivery.

Runs unchanged against AWS, LocalStack and moto's server; only `endpoint_url` differs.

Publishing: envelopes are grouped by context and sent with SNS PublishBatch (10 a call,
at most 256 KiB a call), the body being the CloudEvent itself and the message attributes
`type`, `tenantid` and `traceparent` (subscriptions filter on `type`).

Consuming: long-poll ReceiveMessage, decode, hand to the handler, DeleteMessageBatch the
handled ones. A poison message is sent to the DLQ by us, with a `reason` attribute, and
deleted; a failing handler's message is made visible again after a back-off, and after
the topology's max receive count it is dead-lettered too (the queue's redrive policy is
the safety net for a consumer that dies mid-way). A heartbeat keeps extending the
visibility of the messages still being handled, so a slow handler is never raced by a
redelivery to another replica."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from contextlib import AsyncExitStack, suppress
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.exceptions import ClientError
from pydantic import SecretStr

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
from .topology import Subscription, Topology

#: message attributes a dead letter carries: why it was dead-lettered, and a short label
REASON_ATTRIBUTE = "reason"
REASON_KIND_ATTRIBUTE = "reason_kind"
#: SNS PublishBatch / SQS batch limits
BATCH_ENTRIES = 10
BATCH_BYTES = 256 * 1024
#: SQS allows at most 10 message attributes; we add `reason` and `reason_kind`
MAX_COPIED_ATTRIBUTES = 8
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
REASON_MAX_CHARS = 1000

_NO_QUEUE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}
_PURGE_IN_PROGRESS = {"AWS.SimpleQueueService.PurgeQueueInProgress", "PurgeQueueInProgress"}


def _error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def _secret(value: SecretStr | str | None) -> str | None:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value


def _publish_attributes(envelope: Envelope) -> dict[str, dict[str, str]]:
    attributes = {"type": {"DataType": "String", "StringValue": envelope.type}}
    if envelope.tenantid:
        attributes["tenantid"] = {"DataType": "String", "StringValue": envelope.tenantid}
    if envelope.traceparent:
        attributes["traceparent"] = {"DataType": "String", "StringValue": envelope.traceparent}
    return attributes


def _entry_size(body: str, attributes: dict[str, dict[str, str]]) -> int:
    size = len(body.encode())
    for name, value in attributes.items():
        size += len(name.encode()) + len(value["DataType"]) + len(value["StringValue"].encode())
    return size


def _chunks(envelopes: Sequence[Envelope]) -> Iterator[list[tuple[Envelope, str, dict]]]:
    """Batches of at most 10 entries and 256 KiB (an oversized envelope goes alone, and
    SNS rejects it, which surfaces as a PublishError naming it)."""
    chunk: list[tuple[Envelope, str, dict]] = []
    size = 0
    for envelope in envelopes:
        body = envelope.to_json()
        attributes = _publish_attributes(envelope)
        entry_size = _entry_size(body, attributes)
        if chunk and (len(chunk) == BATCH_ENTRIES or size + entry_size > BATCH_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append((envelope, body, attributes))
        size += entry_size
    if chunk:
        yield chunk


def _filter_policy(subscription: Subscription) -> dict[str, list[str]]:
    if not subscription.types:
        raise ValueError(f"subscription {subscription} lists no event types")
    return {"type": sorted(subscription.types)}


def _queue_policy(queue_arn: str, topic_arns: Sequence[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowPingvasTopics",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": sorted(topic_arns)}},
            }
        ],
    }


def _json_or_none(raw: str | None) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _normalise_policy(policy: Any) -> Any:
    """Policies compare equal whether a one-element list is written as a list or not."""
    if isinstance(policy, dict):
        return {k: _normalise_policy(v) for k, v in policy.items()}
    if isinstance(policy, list):
        items = [_normalise_policy(v) for v in policy]
        if len(items) == 1:
            return items[0]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return policy


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


class SqsBus(Bus):
    """The bus over SNS and SQS (aiobotocore). Open with `async with` or start()/close()."""

    def __init__(
        self,
        topology: Topology,
        *,
        endpoint_url: str | None,
        region: str,
        access_key_id: SecretStr | str | None,
        secret_access_key: SecretStr | str | None,
        wait_seconds: int = 20,
        visibility_timeout: int = 30,
        concurrency: int = 10,
        pollers: int = 2,
        publish_concurrency: int = 8,
        retry_base_delay: int = 2,
        retry_max_delay: int = 60,
        max_attempts: int = 3,
    ) -> None:
        super().__init__(topology)
        if visibility_timeout < 1:
            raise ValueError("visibility_timeout must be at least 1 second")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.endpoint_url = endpoint_url
        self.region = region
        self._access_key_id = _secret(access_key_id)
        self._secret_access_key = _secret(secret_access_key)
        #: SQS long polling allows 0..20 seconds
        self.wait_seconds = max(0, min(int(wait_seconds), 20))
        self.visibility_timeout = int(visibility_timeout)
        #: handlers running at once per consume() call (also caps a receive's batch size)
        self.concurrency = concurrency
        #: receive loops per consume() call: one polls while another's batch is handled
        #: and deleted, so the queue is never idle between round trips
        self.pollers = max(1, pollers)
        self.publish_concurrency = max(1, publish_concurrency)
        #: a failed message comes back after min(base * 2**(receives-1), max) seconds
        self.retry_base_delay = max(0, retry_base_delay)
        self.retry_max_delay = max(0, retry_max_delay)
        #: attempts per AWS call (botocore "standard" retries), the first one included
        self.max_attempts = max(1, max_attempts)
        #: what the last provision() did: (action, kind, name), action in
        #: created / updated / kept / removed
        self.provision_report: list[tuple[str, str, str]] = []
        self._stack: AsyncExitStack | None = None
        self._sns_client: Any = None
        self._sqs_client: Any = None
        self._topic_arns: dict[str, str] = {}
        self._queue_urls: dict[str, str] = {}
        self._queue_arns: dict[str, str] = {}
        #: one lookup per name, however many tasks ask for it at once
        self._lookup_locks: dict[str, asyncio.Lock] = {}

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        if self._stack is not None:
            return
        session = AioSession()
        config = AioConfig(
            connect_timeout=5,
            # a long poll holds the response for up to wait_seconds
            read_timeout=self.wait_seconds + 10,
            max_pool_connections=50,
            retries={"mode": "standard", "max_attempts": self.max_attempts},
        )
        kwargs: dict[str, Any] = {
            "region_name": self.region,
            "endpoint_url": self.endpoint_url,
            "config": config,
        }
        if self._access_key_id and self._secret_access_key:
            kwargs["aws_access_key_id"] = self._access_key_id
            kwargs["aws_secret_access_key"] = self._secret_access_key
        stack = AsyncExitStack()
        try:
            self._sns_client = await stack.enter_async_context(
                session.create_client("sns", **kwargs)
            )
            self._sqs_client = await stack.enter_async_context(
                session.create_client("sqs", **kwargs)
            )
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack

    async def close(self) -> None:
        stack, self._stack = self._stack, None
        self._sns_client = self._sqs_client = None
        if stack is not None:
            await stack.aclose()

    @property
    def _sns(self) -> Any:
        if self._sns_client is None:
            raise RuntimeError("SqsBus is not started (use `async with bus` or await start())")
        return self._sns_client

    @property
    def _sqs(self) -> Any:
        if self._sqs_client is None:
            raise RuntimeError("SqsBus is not started (use `async with bus` or await start())")
        return self._sqs_client

    async def ping(self) -> None:
        async with asyncio.timeout(10):
            await asyncio.gather(
                self._sns.list_topics(),
                self._sqs.list_queues(QueueNamePrefix=self.topology.prefix, MaxResults=1),
            )

    # -- names -> ARNs / URLs (cached) ----------------------------------------------------

    def _lookup_lock(self, key: str) -> asyncio.Lock:
        return self._lookup_locks.setdefault(key, asyncio.Lock())

    async def _topic_arn(self, context: str) -> str:
        if context not in self._topic_arns:
            async with self._lookup_lock(f"topic:{context}"):
                if context not in self._topic_arns:
                    # CreateTopic is idempotent: the one call that both finds an existing
                    # topic's ARN and creates a missing one (needs sns:CreateTopic)
                    response = await self._sns.create_topic(Name=self.topology.topic_name(context))
                    self._topic_arns[context] = response["TopicArn"]
        return self._topic_arns[context]

    async def _queue_url(self, name: str) -> str:
        if name not in self._queue_urls:
            async with self._lookup_lock(f"queue:{name}"):
                if name not in self._queue_urls:
                    response = await self._sqs.get_queue_url(QueueName=name)
                    self._queue_urls[name] = response["QueueUrl"]
        return self._queue_urls[name]

    async def _queue_arn(self, name: str) -> str:
        arn = self._queue_arns.get(name)
        if arn is None:
            response = await self._sqs.get_queue_attributes(
                QueueUrl=await self._queue_url(name), AttributeNames=["QueueArn"]
            )
            arn = self._queue_arns[name] = response["Attributes"]["QueueArn"]
        return arn

    # -- provisioning -------------------------------------------------------------------

    def _report(self, action: str, kind: str, name: str) -> None:
        self.provision_report.append((action, kind, name))
        log.info("bus.provisioned", action=action, kind=kind, name=name)

    async def provision(self) -> None:
        self.provision_report = []
        topology = self.topology
        for sub in topology.subscriptions:
            _filter_policy(sub)  # fail before creating anything

        existing_topics = await self._existing_topic_arns()
        for context in topology.contexts:
            arn = await self._topic_arn(context)
            self._report("kept" if arn in existing_topics else "created", "topic", arn)

        for consumer in topology.consumers:
            dlq_name = topology.dlq_name(consumer)
            await self._ensure_queue(
                dlq_name, {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)}, "dlq"
            )
            redrive = {
                "deadLetterTargetArn": await self._queue_arn(dlq_name),
                "maxReceiveCount": topology.max_receive_count,
            }
            queue_name = topology.queue_name(consumer)
            await self._ensure_queue(
                queue_name,
                {"VisibilityTimeout": str(self.visibility_timeout), "RedrivePolicy": redrive},
                "queue",
            )
            topic_arns = [
                await self._topic_arn(s.context) for s in topology.subscriptions_of(consumer)
            ]
            policy = _queue_policy(await self._queue_arn(queue_name), topic_arns)
            await self._ensure_queue(queue_name, {"Policy": policy}, "queue policy")

        for context in topology.contexts:
            await self._ensure_subscriptions(context)

    async def _existing_topic_arns(self) -> set[str]:
        arns: set[str] = set()
        async for page in self._sns.get_paginator("list_topics").paginate():
            arns.update(t["TopicArn"] for t in page.get("Topics", []))
        return arns

    async def _ensure_queue(self, name: str, wanted: dict[str, Any], kind: str) -> None:
        """Create the queue with `wanted` attributes, or set those that differ."""

        def encode(value: Any) -> str:
            return value if isinstance(value, str) else json.dumps(value, sort_keys=True)

        try:
            url = await self._queue_url(name)
        except ClientError as exc:
            if _error_code(exc) not in _NO_QUEUE:
                raise
            response = await self._sqs.create_queue(
                QueueName=name, Attributes={k: encode(v) for k, v in wanted.items()}
            )
            self._queue_urls[name] = response["QueueUrl"]
            self._report("created", kind, name)
            return
        response = await self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        current = response.get("Attributes", {})
        changed: dict[str, str] = {}
        for key, value in wanted.items():
            if isinstance(value, str):
                same = current.get(key) == value
            elif key == "RedrivePolicy":
                now = _json_or_none(current.get(key)) or {}
                same = now.get("deadLetterTargetArn") == value["deadLetterTargetArn"] and str(
                    now.get("maxReceiveCount")
                ) == str(value["maxReceiveCount"])
            else:
                same = _normalise_policy(_json_or_none(current.get(key))) == _normalise_policy(
                    value
                )
            if not same:
                changed[key] = encode(value)
        if changed:
            await self._sqs.set_queue_attributes(QueueUrl=url, Attributes=changed)
            fresh = not any(current.get(key) for key in changed)  # e.g. a new queue's policy
            self._report("created" if fresh else "updated", kind, name)
        else:
            self._report("kept", kind, name)

    async def _ensure_subscriptions(self, context: str) -> None:
        topology = self.topology
        topic_arn = await self._topic_arn(context)
        wanted = {
            await self._queue_arn(topology.queue_name(s.consumer)): s
            for s in topology.subscriptions
            if s.context == context
        }
        ours = {await self._queue_arn(topology.queue_name(c)) for c in topology.consumers}
        existing: dict[str, str] = {}
        paginator = self._sns.get_paginator("list_subscriptions_by_topic")
        async for page in paginator.paginate(TopicArn=topic_arn):
            for sub in page.get("Subscriptions", []):
                if sub.get("Protocol") == "sqs" and sub["SubscriptionArn"].startswith("arn:"):
                    existing[sub["Endpoint"]] = sub["SubscriptionArn"]

        for queue_arn, subscription in wanted.items():
            policy = _filter_policy(subscription)
            label = (
                f"{topology.topic_name(context)} -> {topology.queue_name(subscription.consumer)}"
            )
            sub_arn = existing.get(queue_arn)
            if sub_arn is None:
                await self._sns.subscribe(
                    TopicArn=topic_arn,
                    Protocol="sqs",
                    Endpoint=queue_arn,
                    Attributes={
                        "RawMessageDelivery": "true",
                        "FilterPolicyScope": "MessageAttributes",
                        "FilterPolicy": json.dumps(policy),
                    },
                    ReturnSubscriptionArn=True,
                )
                self._report("created", "subscription", label)
                continue
            response = await self._sns.get_subscription_attributes(SubscriptionArn=sub_arn)
            current = response.get("Attributes", {})
            updates: list[tuple[str, str]] = []
            if current.get("FilterPolicyScope", "MessageAttributes") != "MessageAttributes":
                updates.append(("FilterPolicyScope", "MessageAttributes"))
            now = _json_or_none(current.get("FilterPolicy"))
            if _normalise_policy(now) != _normalise_policy(policy):
                updates.append(("FilterPolicy", json.dumps(policy)))
            if str(current.get("RawMessageDelivery", "false")).lower() != "true":
                updates.append(("RawMessageDelivery", "true"))
            for name, value in updates:
                await self._sns.set_subscription_attributes(
                    SubscriptionArn=sub_arn, AttributeName=name, AttributeValue=value
                )
            self._report("updated" if updates else "kept", "subscription", label)

        # a consumer of this topology that no longer consumes anything of this context
        for queue_arn, sub_arn in existing.items():
            if queue_arn in ours and queue_arn not in wanted:
                await self._sns.unsubscribe(SubscriptionArn=sub_arn)
                self._report("removed", "subscription", f"{topic_arn} -> {queue_arn}")

    # -- publishing --------------------------------------------------------------------

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        if not envelopes:
            return
        by_context: dict[str, list[Envelope]] = {}
        for envelope in envelopes:
            by_context.setdefault(envelope.context, []).append(envelope)
        semaphore = asyncio.Semaphore(self.publish_concurrency)
        results = await asyncio.gather(
            *(
                self._publish_chunk(context, chunk, semaphore)
                for context, group in by_context.items()
                for chunk in _chunks(group)
            )
        )
        failed_ids = [event_id for ids, _ in results for event_id in ids]
        if failed_ids:
            reasons = sorted({reason for _, rs in results for reason in rs})
            raise PublishError(failed_ids, "; ".join(reasons[:5]))

    async def _publish_chunk(
        self, context: str, chunk: list[tuple[Envelope, str, dict]], semaphore: asyncio.Semaphore
    ) -> tuple[list[str], list[str]]:
        """Returns (ids not accepted, reasons)."""
        async with semaphore:
            try:
                response = await self._sns.publish_batch(
                    TopicArn=await self._topic_arn(context),
                    # entry ids are positions: event ids may be too long or hold characters
                    # that PublishBatch entry ids do not allow
                    PublishBatchRequestEntries=[
                        {"Id": str(i), "Message": body, "MessageAttributes": attributes}
                        for i, (_, body, attributes) in enumerate(chunk)
                    ],
                )
            except Exception as exc:
                log.warning(
                    "bus.publish_failed", context=context, count=len(chunk), error=repr(exc)
                )
                return [envelope.id for envelope, _, _ in chunk], [f"{type(exc).__name__}: {exc}"]
        accepted = {entry["Id"] for entry in response.get("Successful", [])}
        reasons = sorted(
            {f"{f.get('Code', '?')}: {f.get('Message', '')}" for f in response.get("Failed", [])}
        )
        failed = [e.id for i, (e, _, _) in enumerate(chunk) if str(i) not in accepted]
        if failed:
            log.warning("bus.publish_failed", context=context, count=len(failed), reasons=reasons)
            reasons = reasons or ["not acknowledged by SNS"]
        return failed, reasons

    # -- consuming ---------------------------------------------------------------------

    async def consume(self, consumer: str, handler: Handler, *, stop: asyncio.Event) -> None:
        semaphore = asyncio.Semaphore(self.concurrency)
        await asyncio.gather(
            *(self._poll(consumer, handler, semaphore, stop) for _ in range(self.pollers))
        )

    async def _poll(
        self, consumer: str, handler: Handler, semaphore: asyncio.Semaphore, stop: asyncio.Event
    ) -> None:
        queue_name = self.topology.queue_name(consumer)
        delay = 0.5
        while not stop.is_set():
            try:
                url = await self._queue_url(queue_name)
                messages = await self._receive(url, stop)
                delay = 0.5
                if messages:
                    await self._process_batch(consumer, url, messages, handler, semaphore)
            except Exception as exc:
                log.warning("bus.consume_error", consumer=consumer, error=repr(exc), retry_in=delay)
                await _sleep_or_stop(stop, delay)
                delay = min(delay * 2, 30.0)

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
            outcomes = await asyncio.gather(
                *(
                    self._process_one(
                        consumer, url, str(i), m, handler, semaphore, in_flight, visibility_lock
                    )
                    for i, m in enumerate(messages)
                )
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
        message_id = message.get("MessageId")
        receive_count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
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
                HANDLER_ERRORS.labels(consumer=consumer).inc()
                log.exception(
                    "bus.handler_failed",
                    consumer=consumer,
                    event_id=envelope.id,
                    event_type=envelope.type,
                    message_id=message_id,
                    receive_count=receive_count,
                )
                if receive_count >= self.topology.max_receive_count:
                    reason = f"handler failed {receive_count} times (last: {type(exc).__name__})"
                    return await self._dead_letter(
                        consumer, message, "handler_failed", reason, in_flight, entry_id
                    )
                await self._back_off(
                    consumer, url, entry_id, message, receive_count, in_flight, lock
                )
                return None
        return "consumed"

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

    async def purge(self, consumer: str) -> None:
        for name in (self.topology.queue_name(consumer), self.topology.dlq_name(consumer)):
            try:
                await self._sqs.purge_queue(QueueUrl=await self._queue_url(name))
            except ClientError as exc:
                if _error_code(exc) not in _PURGE_IN_PROGRESS:
                    raise
