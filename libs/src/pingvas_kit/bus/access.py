"""What each workload may do on AWS, from the services' specs: the IAM input.

`pingvas-bus access --out deploy/terraform/access.json` writes it; Terraform's iam module
turns every workload's statements into the inline policy of its role
`pingvas-<env>-<workload>`, mapping each resource reference to an ARN:

    topic:<context>         the context's SNS topic        (bus module topic_arns)
    queue:<consumer>        the consumer's SQS queue       (queue_arns)
    dlq:<consumer>          its dead-letter queue          (dlq_arns)
    work_queue:<name>       a work queue, e.g. render-work (work_queue_arns)
    ses_events_queue        the SES notification queue     (ses_events_queue_arn)
    bucket:<bucket>         a bucket itself (s3:ListBucket, with an s3:prefix condition)
    object:<bucket>:<keys>  the objects matching a key pattern, e.g. tenants/*/images/*
    ses_identity            the SES sending identities     (ses_identity_arns)
    ses_configuration_set   mail's configuration set       (ses_configuration_set_arn)

Bus access is derived from publishes/consumes, on the SNS/SQS adapter's real calls:

- a publisher: sns:Publish (PublishBatch) on its own context's topic, and sns:CreateTopic
  on that topic alone (the adapter resolves a topic's ARN with the idempotent CreateTopic);
- a consumer: ReceiveMessage, DeleteMessage (and the batch form), ChangeMessageVisibility
  (back-off, heartbeat), GetQueueAttributes (its ARN, /readyz), GetQueueUrl on its own
  queue; SendMessage and GetQueueUrl on its own DLQ (a poison message goes there with its
  reason), and GetQueueAttributes there (its depth, for the DLQ alert). Nothing on another
  service's queue or topic.

Nothing here grants creating or changing the topology (that is Terraform's); a service
on AWS runs with PINGVAS_BUS_PROVISION=false and <SVC>_CREATE_RESOURCES=false."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pingvas_contracts import AwsAccess, ServiceSpec

PUBLISH_ACTIONS = ("sns:CreateTopic", "sns:Publish")
CONSUME_ACTIONS = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
)
DEAD_LETTER_ACTIONS = ("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage")


@dataclass(frozen=True)
class Condition:
    test: str
    variable: str
    values: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"test": self.test, "variable": self.variable, "values": list(self.values)}


@dataclass(frozen=True)
class Statement:
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    why: str
    conditions: tuple[Condition, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "actions": sorted(self.actions),
            "resources": sorted(self.resources),
            "conditions": [c.to_dict() for c in self.conditions],
            "why": self.why,
        }


@dataclass(frozen=True)
class WorkloadAccess:
    name: str
    service: str
    statements: tuple[Statement, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"service": self.service, "statements": [s.to_dict() for s in self.statements]}


@dataclass(frozen=True)
class Access:
    prefix: str
    workloads: tuple[WorkloadAccess, ...]

    def workload(self, name: str) -> WorkloadAccess:
        for w in self.workloads:
            if w.name == name:
                return w
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "workloads": {w.name: w.to_dict() for w in self.workloads},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"


def _sid(*words: str) -> str:
    """An IAM statement id: letters and digits only."""
    return "".join(part.capitalize() for w in words for part in re.split(r"[^A-Za-z0-9]+", w))


def _bus_statements(spec: ServiceSpec) -> list[Statement]:
    statements = []
    if spec.context and spec.publishes:
        statements.append(
            Statement(
                sid=_sid("publish", spec.context, "topic"),
                actions=PUBLISH_ACTIONS,
                resources=(f"topic:{spec.context}",),
                why="the outbox relay publishes its events (CreateTopic resolves the ARN)",
            )
        )
    if spec.consumes:
        statements.append(
            Statement(
                sid=_sid("consume", spec.name, "queue"),
                actions=CONSUME_ACTIONS,
                resources=(f"queue:{spec.name}",),
                why="the consumer reads, extends, deletes and pings its own queue",
            )
        )
        statements.append(
            Statement(
                sid=_sid("dead", "letter", spec.name),
                actions=DEAD_LETTER_ACTIONS,
                resources=(f"dlq:{spec.name}",),
                why="a poison message goes to its own DLQ with the reason",
            )
        )
    return statements


def _declared_statements(
    workload: str, aws: AwsAccess, queue_refs: Mapping[str, str]
) -> list[Statement]:
    statements = []
    for queue in aws.queues:
        ref = queue_refs.get(queue.queue)
        if ref is None:
            raise ValueError(
                f"{workload} declares access to queue {queue.queue!r}, which no service "
                f"declares (known: {sorted(queue_refs)})"
            )
        statements.append(
            Statement(
                sid=_sid("queue", queue.queue, *(a.split(":")[1] for a in queue.actions[:1])),
                actions=queue.actions,
                resources=(ref,),
                why=queue.why,
            )
        )
    for grant in aws.s3:
        if grant.lists:
            statements.append(
                Statement(
                    sid=_sid("list", grant.bucket, grant.prefix.split("/")[0]),
                    actions=grant.actions,
                    resources=(f"bucket:{grant.bucket}",),
                    why=grant.why,
                    conditions=(Condition("StringLike", "s3:prefix", (grant.prefix,)),),
                )
            )
        else:
            statements.append(
                Statement(
                    sid=_sid(
                        "objects",
                        grant.bucket,
                        grant.prefix.replace("*", "any"),
                        *(a.split(":")[1] for a in grant.actions[:1]),
                    ),
                    actions=grant.actions,
                    resources=(f"object:{grant.bucket}:{grant.prefix}",),
                    why=grant.why,
                )
            )
    if aws.ses:
        statements.append(
            Statement(
                sid="SendMail",
                actions=aws.ses,
                resources=("ses_identity", "ses_configuration_set"),
                why=aws.ses_why,
            )
        )
    return statements


def build_access(specs: Mapping[str, ServiceSpec], *, prefix: str = "pingvas") -> Access:
    """Every workload of every service, with the statements of its role's policy."""
    queue_refs: dict[str, str] = {}
    for spec in specs.values():
        for wq in spec.work_queues:
            queue_refs[wq.name] = f"work_queue:{wq.name}"
        if spec.ses_events is not None:
            queue_refs[spec.ses_events.name] = "ses_events_queue"
    workloads: dict[str, WorkloadAccess] = {}
    for spec in specs.values():
        for workload in spec.all_workloads:
            if workload.name in workloads:
                raise ValueError(f"workload {workload.name!r} is declared twice")
            statements = _declared_statements(workload.name, workload.aws, queue_refs)
            if workload.name == spec.name:
                statements = _bus_statements(spec) + statements
            sids = [s.sid for s in statements]
            if len(set(sids)) != len(sids):
                raise ValueError(f"{workload.name}: two statements share a sid ({sids})")
            workloads[workload.name] = WorkloadAccess(
                name=workload.name, service=spec.name, statements=tuple(statements)
            )
    return Access(prefix=prefix, workloads=tuple(workloads[n] for n in sorted(workloads)))
