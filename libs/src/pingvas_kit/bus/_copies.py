"""A bus that publishes every envelope more than once: the fault suite's "every message
delivered twice" (tests/faults/). Enabled only by the test setting `bus_publish_copies`
(PINGVAS_BUS_PUBLISH_COPIES, default 1: off); never set in production.

Each copy is a separate broker message with the same CloudEvent id, so every subscribed
queue receives each event that many times, possibly on different pollers at once: what
at-least-once delivery may do in the worst case, on every event instead of rarely. The
consumers' inboxes must apply each event once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from pingvas_contracts import Envelope

from .base import Bus, DeadLetter, Handler


class CopyingBus(Bus):
    """Delegates everything to `inner`; publish() publishes the batch `copies` times."""

    def __init__(self, inner: Bus, copies: int) -> None:
        super().__init__(inner.topology)
        if copies < 1:
            raise ValueError("copies must be at least 1")
        self.inner = inner
        self.copies = copies

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def ping(self) -> None:
        await self.inner.ping()

    async def provision(self) -> None:
        await self.inner.provision()

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        # the copies race each other to the broker, as a redelivery would race a handler;
        # a copy that failed fails the batch (the relay publishes it again, copies and all)
        for result in await asyncio.gather(
            *(self.inner.publish(envelopes) for _ in range(self.copies)), return_exceptions=True
        ):
            if isinstance(result, BaseException):
                raise result

    async def consume(self, consumer: str, handler: Handler, *, stop: asyncio.Event) -> None:
        await self.inner.consume(consumer, handler, stop=stop)

    async def dead_letters(self, consumer: str, *, max_messages: int = 10) -> list[DeadLetter]:
        return await self.inner.dead_letters(consumer, max_messages=max_messages)

    async def redrive(self, consumer: str, *, max_messages: int = 100) -> int:
        return await self.inner.redrive(consumer, max_messages=max_messages)

    async def purge(self, consumer: str) -> None:
        await self.inner.purge(consumer)

    def __getattr__(self, name: str) -> object:
        # adapter extras (provision_report, ...)
        return getattr(self.inner, name)
