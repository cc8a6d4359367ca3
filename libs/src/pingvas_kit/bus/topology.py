"""The bus topology, declared once from the services' specs.

A topic (SNS topic / AMQP routing-key prefix) per publishing context, a queue per
consuming service with a dead-letter queue, and one subscription per (topic, queue)
pair filtered to exactly the event types that service consumes. Provisioning, the docs
and Terraform all read this one declaration.

Beside the bus it lists the SQS queues services own outside it (render's work queue) and
the SES notification topic and queue (mail's), so Terraform builds every queue from this
one file. The bus provisioners leave those two alone: locally their owners create them
(render's WorkQueue.ensure, mail's Ses.provision), in AWS Terraform does."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from pingvas_contracts import REGISTRY, ServiceSpec, UnknownEventType, model_for

#: how long a dead letter is kept (the SQS maximum): the bus DLQs' retention
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
#: a consumer queue's visibility timeout unless the settings say otherwise
#: (PINGVAS_BUS_VISIBILITY_TIMEOUT; the consumer's heartbeat extends it while it works)
DEFAULT_VISIBILITY_TIMEOUT = 30


@dataclass(frozen=True)
class Subscription:
    context: str
    consumer: str
    types: tuple[str, ...]


@dataclass(frozen=True)
class WorkQueue:
    """A service's own SQS queue outside the bus, with its DLQ (e.g. render-work)."""

    name: str
    owner: str
    visibility_timeout: int
    max_receive_count: int
    dlq_retention_seconds: int


@dataclass(frozen=True)
class SesEvents:
    """SES's bounce and complaint notifications: an SNS topic, an SQS queue and its DLQ."""

    name: str
    owner: str
    max_receive_count: int
    dlq_retention_seconds: int


@dataclass(frozen=True)
class Topology:
    prefix: str
    contexts: tuple[str, ...]
    consumers: tuple[str, ...]
    subscriptions: tuple[Subscription, ...]
    max_receive_count: int = 5
    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT
    work_queues: tuple[WorkQueue, ...] = ()
    ses_events: SesEvents | None = None

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

    def named(self, name: str) -> str:
        """A work queue's or the SES events' full name (`<prefix>-<name>`)."""
        return f"{self.prefix}-{name}"

    def to_dict(self) -> dict:
        ses = self.ses_events
        return {
            "prefix": self.prefix,
            "max_receive_count": self.max_receive_count,
            "visibility_timeout": self.visibility_timeout,
            "dlq_retention_seconds": DLQ_RETENTION_SECONDS,
            "topics": {c: self.topic_name(c) for c in self.contexts},
            "queues": {
                c: {"queue": self.queue_name(c), "dlq": self.dlq_name(c)} for c in self.consumers
            },
            "subscriptions": [asdict(s) | {"types": list(s.types)} for s in self.subscriptions],
            "work_queues": {
                w.name: {
                    "owner": w.owner,
                    "queue": self.named(w.name),
                    "dlq": f"{self.named(w.name)}-dlq",
                    "visibility_timeout": w.visibility_timeout,
                    "max_receive_count": w.max_receive_count,
                    "dlq_retention_seconds": w.dlq_retention_seconds,
                }
                for w in self.work_queues
            },
            "ses_events": None
            if ses is None
            else {
                "name": ses.name,
                "owner": ses.owner,
                "topic": self.named(ses.name),
                "queue": self.named(ses.name),
                "dlq": f"{self.named(ses.name)}-dlq",
                "max_receive_count": ses.max_receive_count,
                "dlq_retention_seconds": ses.dlq_retention_seconds,
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"


def build_topology(
    specs: Mapping[str, ServiceSpec],
    *,
    prefix: str = "pingvas",
    max_receive_count: int = 5,
    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT,
) -> Topology:
    contexts: set[str] = set()
    by_pair: dict[tuple[str, str], set[str]] = defaultdict(set)
    work_queues: dict[str, WorkQueue] = {}
    ses_events: SesEvents | None = None
    for spec in specs.values():
        for wq in spec.work_queues:
            if wq.name in work_queues:
                raise ValueError(f"work queue {wq.name!r} is declared by two services")
            work_queues[wq.name] = WorkQueue(
                name=wq.name,
                owner=spec.name,
                visibility_timeout=wq.visibility_timeout_s,
                max_receive_count=wq.max_receive_count,
                dlq_retention_seconds=wq.dlq_retention_s,
            )
        if spec.ses_events is not None:
            if ses_events is not None:
                raise ValueError(f"{spec.name} and {ses_events.owner} both declare SES events")
            ses_events = SesEvents(
                name=spec.ses_events.name,
                owner=spec.name,
                max_receive_count=spec.ses_events.max_receive_count,
                dlq_retention_seconds=spec.ses_events.dlq_retention_s,
            )
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
        visibility_timeout=visibility_timeout,
        work_queues=tuple(work_queues[n] for n in sorted(work_queues)),
        ses_events=ses_events,
    )
