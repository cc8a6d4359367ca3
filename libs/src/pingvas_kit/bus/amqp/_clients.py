"""The RabbitMQ connection the AMQP bus shares: one robust connection, one confirming channel.

The publishing channel has publisher confirms and raises on returned (unroutable)
messages; it also carries poison messages to the dead-letter exchange. Using the bus
before start() raises ConnectionError."""

from __future__ import annotations

import asyncio
import contextlib

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

from ..base import Bus
from ..topology import Topology


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


class AmqpClients(Bus):
    """What provisioning, publishing and consuming share: the connection, the exchanges."""

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

    def _publisher(self) -> tuple[AbstractExchange, AbstractExchange]:
        self._require_connection()
        if self._exchange is None or self._dead_letter_exchange is None:
            raise ConnectionError("AMQP bus is not started")
        return self._exchange, self._dead_letter_exchange
