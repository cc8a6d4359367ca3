"""Publishing on SNS: envelopes grouped by context, PublishBatch of 10 entries / 256 KiB.

The body is the CloudEvent itself; the message attributes `type`, `tenantid` and
`traceparent` (subscriptions filter on `type`). Any envelope SNS did not acknowledge is
named in the PublishError raised once every batch has been tried."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence

from pingvas_contracts import Envelope

from ..base import PublishError, log
from ._clients import SqsClients

#: SNS PublishBatch / SQS batch limits
BATCH_ENTRIES = 10
BATCH_BYTES = 256 * 1024


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


class SqsPublishing(SqsClients):
    """publish(): envelopes to their context's topic."""

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
