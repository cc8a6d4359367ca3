"""Provisioning RabbitMQ: the events and dead-letter exchanges, a quorum queue and a DLQ per consumer.

A consumer's queue is bound once per type it consumes (the counterpart of an SNS filter
policy); its delivery limit is the topology's max receive count. Declarations go on a
throwaway channel, so a conflict with an existing queue never closes the publishing one."""

from __future__ import annotations

from typing import Any

import aio_pika
from aio_pika.exceptions import ChannelPreconditionFailed

from ..base import log
from ._clients import AmqpClients


class AmqpProvisioning(AmqpClients):
    """provision(): declare the topology on the broker."""

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
