"""What each service declares about itself: the events it publishes and consumes, and
what else it needs from AWS.

The catalog, the bus topology (SNS topics, SQS queues, filter policies, AMQP bindings),
the IAM input (deploy/terraform/access.json) and Terraform all read these declarations;
nothing is listed twice.

Bus access is derived, never declared: a service with a context and publications may
publish to that context's topic, a consumer may read its own queue and dead-letter into
its own DLQ (pingvas_kit.bus.access). `aws` declares the rest, least privilege: S3
actions on a bucket's key pattern, SQS actions on a work queue or the SES events queue,
SES actions on the sending identity and configuration set. A process with its own
service account and role (render's GPU worker) is a `Workload` on its service's spec:
it gets only what its own `aws` says, no bus access."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Literal

#: the buckets a grant may name (Terraform maps them to the environment's bucket ARNs)
Bucket = Literal["images", "models"]

#: S3 actions on objects a grant may declare, and the one on the bucket itself
S3_OBJECT_ACTIONS = frozenset(
    {"s3:GetObject", "s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject"}
)
S3_BUCKET_ACTIONS = frozenset({"s3:ListBucket"})
SQS_ACTIONS = frozenset(
    {
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }
)
SES_ACTIONS = frozenset({"ses:SendEmail", "ses:SendRawEmail"})


class AccessError(ValueError):
    """A declaration asks for more than a grant may hold (a wildcard, an unknown action)."""


def _check_actions(what: str, actions: tuple[str, ...], allowed: frozenset[str]) -> None:
    if not actions:
        raise AccessError(f"{what} lists no actions")
    unknown = sorted(set(actions) - allowed)
    if unknown:
        raise AccessError(f"{what}: {unknown} not among the allowed actions {sorted(allowed)}")
    if len(set(actions)) != len(actions):
        raise AccessError(f"{what} lists an action twice")


@dataclass(frozen=True)
class S3Grant:
    """S3 actions on one bucket: object actions on the keys matching `prefix` (an IAM
    pattern such as `tenants/*/images/*`), or s3:ListBucket alone, limited by the
    `s3:prefix` condition to listings under `prefix`."""

    bucket: Bucket
    prefix: str
    actions: tuple[str, ...]
    why: str

    def __post_init__(self) -> None:
        what = f"S3 grant on {self.bucket}/{self.prefix}"
        if self.bucket not in ("images", "models"):
            raise AccessError(f"{what}: unknown bucket {self.bucket!r}")
        if not self.prefix or self.prefix.startswith(("*", "/")) or ":" in self.prefix:
            raise AccessError(f"{what}: a prefix is a key pattern under a fixed first segment")
        if "s3:ListBucket" in self.actions:
            _check_actions(what, self.actions, S3_BUCKET_ACTIONS)
        else:
            _check_actions(what, self.actions, S3_OBJECT_ACTIONS)

    @property
    def lists(self) -> bool:
        return self.actions == ("s3:ListBucket",)


@dataclass(frozen=True)
class QueueGrant:
    """SQS actions on a queue that is not the service's own bus queue: a work queue
    (`WorkQueueSpec.name`) or the SES events queue (`SesEventsSpec.name`)."""

    queue: str
    actions: tuple[str, ...]
    why: str

    def __post_init__(self) -> None:
        _check_actions(f"queue grant on {self.queue}", self.actions, SQS_ACTIONS)


@dataclass(frozen=True)
class AwsAccess:
    """What a workload calls on AWS besides its bus topic and queue (none: nothing)."""

    s3: tuple[S3Grant, ...] = ()
    queues: tuple[QueueGrant, ...] = ()
    #: SES actions on the sending identity and the configuration set
    ses: tuple[str, ...] = ()
    ses_why: str = ""

    def __post_init__(self) -> None:
        if self.ses:
            _check_actions("SES grant", self.ses, SES_ACTIONS)

    @property
    def empty(self) -> bool:
        return not (self.s3 or self.queues or self.ses)


@dataclass(frozen=True)
class WorkQueueSpec:
    """An SQS queue between two workloads of one service, outside the event bus (render's
    dispatcher -> GPU workers): `<prefix>-<name>` with a dead-letter queue `…-dlq`."""

    name: str
    visibility_timeout_s: int
    max_receive_count: int
    dlq_retention_s: int = 14 * 24 * 3600


@dataclass(frozen=True)
class SesEventsSpec:
    """The SNS topic SES publishes bounces and complaints to and the SQS queue subscribed
    to it (SNS's JSON envelope, not raw), both `<prefix>-<name>`, the queue with a DLQ."""

    name: str
    max_receive_count: int = 10
    dlq_retention_s: int = 14 * 24 * 3600


@dataclass(frozen=True)
class Workload:
    """A process of a service with its own service account and IAM role (e.g. the GPU
    worker). It gets exactly `aws`; no bus access is derived for it."""

    name: str
    description: str
    aws: AwsAccess = field(default_factory=AwsAccess)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    #: the bounded context whose SNS topic this service publishes to (None: publishes nothing)
    context: str | None
    description: str
    publishes: tuple[str, ...] = field(default_factory=tuple)
    consumes: tuple[str, ...] = field(default_factory=tuple)
    #: SQS queues this service owns outside the bus (Terraform creates them in AWS)
    work_queues: tuple[WorkQueueSpec, ...] = field(default_factory=tuple)
    #: the SES notification topic and queue this service owns, if any
    ses_events: SesEventsSpec | None = None
    #: the service's own AWS needs beyond its bus topic and queue
    aws: AwsAccess = field(default_factory=AwsAccess)
    #: its other workloads, each with its own service account and role
    workloads: tuple[Workload, ...] = field(default_factory=tuple)

    @property
    def all_workloads(self) -> tuple[Workload, ...]:
        """The service itself (as a workload: its own `aws`) and its other workloads."""
        return (Workload(self.name, self.description, self.aws), *self.workloads)


def discover() -> dict[str, ServiceSpec]:
    """Every installed service's spec, by name (entry point group `pingvas.services`)."""

    specs: dict[str, ServiceSpec] = {}
    for ep in entry_points(group="pingvas.services"):
        spec = ep.load()
        if not isinstance(spec, ServiceSpec):
            raise TypeError(f"entry point {ep.name} is not a ServiceSpec")
        specs[spec.name] = spec
    return dict(sorted(specs.items()))


def discover_report() -> tuple[dict[str, ServiceSpec], list[str]]:
    """Like discover(), but an entry point that fails to load is reported, not raised:
    returns the specs that loaded and one message per failure (for the catalog tools)."""

    specs: dict[str, ServiceSpec] = {}
    errors: list[str] = []
    for ep in entry_points(group="pingvas.services"):
        try:
            spec = ep.load()
        except Exception as exc:  # an unfinished or broken service must not hide the others
            errors.append(f"service entry point {ep.name} ({ep.value}) failed to load: {exc!r}")
            continue
        if not isinstance(spec, ServiceSpec):
            errors.append(f"service entry point {ep.name} ({ep.value}) is not a ServiceSpec")
            continue
        if spec.name in specs:
            errors.append(f"service name {spec.name!r} is declared by two entry points")
            continue
        specs[spec.name] = spec
    return dict(sorted(specs.items())), errors
