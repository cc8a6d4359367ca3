"""The bus: publish CloudEvents and consume them, over SNS/SQS or AMQP.

Delivery is at least once. Adapters never decide what an event means: they decode,
hand the envelope to a handler, and acknowledge only when the handler returned. A
message that can never be handled (not JSON, not a CloudEvent, unknown type, data
failing its schema) is a *poison message*: it goes straight to the consumer's
dead-letter queue with its reason, and the consumer keeps going. A handler that raises
is retried by redelivery until the queue's max receive count, then dead-lettered too.

A handler is `async (envelope) -> None`. One that also has `handle_batch(envelopes) ->
[None | exception, ...]` (pingvas_kit.inbox.EventConsumer) is given each received batch
at once, and says per envelope whether to acknowledge it (None) or leave it for
redelivery (the exception); if handle_batch itself raises, none is acknowledged.
`run_handler` is that contract, for both adapters."""

from __future__ import annotations

import asyncio
import json
import sys
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass

from prometheus_client import Counter, Gauge
from pydantic import ValidationError

from pingvas_contracts import ContractError, Envelope, validate_envelope

from ..logging import get_logger
from .topology import Topology

log = get_logger("pingvas.bus")

Handler = Callable[[Envelope], Awaitable[None]]
BatchHandler = Callable[[Sequence[Envelope]], Awaitable[Sequence[Exception | None]]]

DEAD_LETTERED = Counter(
    "pingvas_bus_dead_lettered_total",
    "Messages sent to a dead-letter queue",
    ["consumer", "reason"],
)
CONSUMED = Counter("pingvas_bus_consumed_total", "Messages handled and acknowledged", ["consumer"])
HANDLER_ERRORS = Counter(
    "pingvas_bus_handler_errors_total",
    "Handler failures (message left for redelivery)",
    ["consumer"],
)
DEAD_LETTER_DEPTH = Gauge(
    "pingvas_bus_dead_letter_depth",
    "Messages waiting in a consumer's dead-letter queue (read every DEPTH_INTERVAL_S)",
    ["consumer"],
)
#: how often a consumer reads its dead-letter queue's depth: one cheap broker call
DEPTH_INTERVAL_S = 30.0


class PoisonMessage(Exception):
    """A message that no retry can fix. `kind` is a short label for metrics."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class PublishError(Exception):
    """Some envelopes were not accepted by the broker; `failed_ids` lists them."""

    def __init__(self, failed_ids: Sequence[str], reason: str) -> None:
        super().__init__(f"{len(failed_ids)} event(s) not published: {reason}")
        self.failed_ids = list(failed_ids)


def exc_info(exc: BaseException) -> BaseException | bool:
    """For a log call's `exc_info`: True inside the `except` that caught `exc` (as
    log.exception would), else the exception itself (a batch's outcome)."""
    return True if sys.exc_info()[1] is exc else exc


def batch_handler_of(handler: Handler) -> BatchHandler | None:
    """The handler's `handle_batch`, when it takes whole batches."""
    batch = getattr(handler, "handle_batch", None)
    return batch if callable(batch) else None


async def run_handler(handler: Handler, envelopes: Sequence[Envelope]) -> list[Exception | None]:
    """Hand `envelopes` (one received batch) to `handler`: None for each to acknowledge,
    the exception for each to leave for redelivery. A batch handler gets them in one
    call (if it raises, every one failed); a plain one is called per envelope, one after
    the other."""
    batch = batch_handler_of(handler)
    if batch is None:
        errors: list[Exception | None] = []
        for envelope in envelopes:
            try:
                await handler(envelope)
            except Exception as exc:  # noqa: BLE001 - any failure means: redeliver it
                errors.append(exc)
            else:
                errors.append(None)
        return errors
    try:
        errors = list(await batch(envelopes))
    except Exception as exc:  # noqa: BLE001 - the batch's transaction failed: all of it
        return [exc] * len(envelopes)
    if len(errors) != len(envelopes):
        raise TypeError(f"handle_batch answered {len(errors)} outcomes for {len(envelopes)}")
    return errors


@dataclass(frozen=True)
class DeadLetter:
    body: str
    reason: str | None


def decode(body: bytes | str) -> Envelope:
    """Bytes off the wire -> a validated envelope, or PoisonMessage saying why not."""

    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise PoisonMessage("not_json", "body is not JSON") from None
    if not isinstance(raw, dict):
        raise PoisonMessage("not_cloudevent", "body is not a JSON object")
    try:
        envelope = Envelope.model_validate(raw)
    except ValidationError as exc:
        fields = ", ".join(sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]}))
        raise PoisonMessage("not_cloudevent", f"not a valid CloudEvent (bad: {fields})") from None
    try:
        validate_envelope(envelope)
    except ContractError as exc:
        kind = "unknown_type" if "unknown event type" in str(exc) else "schema"
        raise PoisonMessage(kind, str(exc)) from None
    return envelope


class Bus(ABC):
    """One connection to the broker, shared by a process's relay and consumers."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology

    async def __aenter__(self) -> Bus:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def ping(self) -> None:
        """Raise if the broker cannot be reached (used by /readyz)."""

    @abstractmethod
    async def provision(self) -> None:
        """Create every topic/exchange, queue, DLQ, subscription and filter of the topology.
        Idempotent: running it again changes nothing and fails nothing."""

    @abstractmethod
    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Publish to each envelope's context topic. Returns only when the broker has
        accepted all of them; otherwise raises PublishError naming the ones it did not."""

    @abstractmethod
    async def consume(self, consumer: str, handler: Handler, *, stop: asyncio.Event) -> None:
        """Deliver the consumer's queue to `handler` until `stop` is set. Acknowledge on
        return, leave for redelivery on exception, dead-letter poison messages."""

    @abstractmethod
    async def dead_letters(self, consumer: str, *, max_messages: int = 10) -> list[DeadLetter]:
        """Take up to `max_messages` from the consumer's dead-letter queue (ops and tests)."""

    async def redrive(self, consumer: str, *, max_messages: int = 100) -> int:
        """Move up to `max_messages` from the consumer's dead-letter queue back to its
        queue (their reasons dropped), to be handled again; returns how many moved. A
        message that still cannot be handled is dead-lettered again, with its reason."""
        raise NotImplementedError(f"{type(self).__name__} cannot redrive dead letters")

    @abstractmethod
    async def purge(self, consumer: str) -> None:
        """Drop every message waiting in the consumer's queue and DLQ (tests, reset)."""

    async def dead_letter_depth(self, consumer: str) -> int | None:
        """How many messages wait in the consumer's DLQ (approximate on SQS); None where
        the adapter cannot say."""
        return None


async def watch_dead_letters(
    bus: Bus, consumer: str, *, stop: asyncio.Event, interval: float = DEPTH_INTERVAL_S
) -> None:
    """Keep pingvas_bus_dead_letter_depth{consumer} current until `stop` is set; a failed
    read keeps the last figure (the broker may be away) and tries again next time."""
    while not stop.is_set():
        try:
            depth = await bus.dead_letter_depth(consumer)
            if depth is not None:
                DEAD_LETTER_DEPTH.labels(consumer=consumer).set(depth)
        except Exception as exc:  # noqa: BLE001 - a figure only; the consumer goes on
            log.info("bus.dead_letter_depth_failed", consumer=consumer, error=type(exc).__name__)
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
