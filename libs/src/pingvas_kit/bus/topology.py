"""The bus topology, declared once from the services' specs.

A topic (SNS topic / AMQP routing-key prefix) per publishing context, a queue per
consuming service with a dead-letter queue, and one subscription per (topic, queue)
pair filtered to exactly the event types that service consumes. Provisioning, the docs
and Terraform all read this one declaration."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from pingvas_contracts import REGISTRY, ServiceSpec, UnknownEventType, model_for


@dataclass(frozen=True)
class Subscription:
    context: str
    consumer: str
    types: tuple[str, ...]


@dataclass(frozen=True)
class Topology:
    prefix: str
    contexts: tuple[str, ...]
    consumers: tuple[str, ...]
    subscriptions: tuple[Subscription, ...]
    max_receive_count: int = 5

    def topic_name(self, context: str) -> str:
        return f"{self.prefix}-{context}"

    def queue_name(self, consumer: str) -> str:
        return f"{self.prefix}-{consumer}"

    def dlq_name(self, consumer: str) -> str:
        return f"{self.prefix}-{consumer}-dlq"

    def exchange_name(self) -> str:
        return f"{self.prefix}.events"

    def dead_letter_exchange_name(self) -> str:
        return f"{self.prefix}.dead-letter"

    def subscriptions_of(self, consumer: str) -> tuple[Subscription, ...]:
        return tuple(s for s in self.subscriptions if s.consumer == consumer)

    def to_dict(self) -> dict:
        return {
            "prefix": self.prefix,
            "max_receive_count": self.max_receive_count,
            "topics": {c: self.topic_name(c) for c in self.contexts},
            "queues": {
                c: {"queue": self.queue_name(c), "dlq": self.dlq_name(c)} for c in self.consumers
            },
            "subscriptions": [asdict(s) | {"types": list(s.types)} for s in self.subscriptions],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"


def build_topology(
    specs: Mapping[str, ServiceSpec], *, prefix: str = "pingvas", max_receive_count: int = 5
) -> Topology:
    contexts: set[str] = set()
    by_pair: dict[tuple[str, str], set[str]] = defaultdict(set)
    for spec in specs.values():
        if spec.context and spec.publishes:
            contexts.add(spec.context)
        for type_ in spec.consumes:
            if type_ not in REGISTRY:
                raise UnknownEventType(f"{spec.name} consumes unknown event type {type_!r}")
            context = model_for(type_).CONTEXT
            contexts.add(context)
            by_pair[(context, spec.name)].add(type_)
    subscriptions = tuple(
        Subscription(context=ctx, consumer=consumer, types=tuple(sorted(types)))
        for (ctx, consumer), types in sorted(by_pair.items())
    )
    return Topology(
        prefix=prefix,
        contexts=tuple(sorted(contexts)),
        consumers=tuple(sorted({s.consumer for s in subscriptions})),
        subscriptions=subscriptions,
        max_receive_count=max_receive_count,
    )
