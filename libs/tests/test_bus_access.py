"""The IAM input built from service specs (pingvas_kit.bus.access), `pingvas-bus access`."""

from __future__ import annotations

import json

import pytest

from pingvas_contracts import (
    AccessError,
    AwsAccess,
    QueueGrant,
    S3Grant,
    ServiceSpec,
    Workload,
    WorkQueueSpec,
)
from pingvas_kit.bus import cli
from pingvas_kit.bus.access import CONSUME_ACTIONS, DEAD_LETTER_ACTIONS, build_access

COMPLETED = "pingvas.render.job.completed.v1"
CREATED = "pingvas.tenants.tenant.created.v1"

WORK = WorkQueueSpec("render-work", visibility_timeout_s=60, max_receive_count=10)
WORKER = Workload(
    "render-worker",
    "the worker",
    AwsAccess(
        queues=(QueueGrant("render-work", ("sqs:ReceiveMessage",), "takes work"),),
        s3=(S3Grant("models", "models/*", ("s3:ListBucket",), "sync"),),
    ),
)


def specs() -> dict[str, ServiceSpec]:
    return {
        "render": ServiceSpec(
            "render",
            "render",
            "renders",
            publishes=(COMPLETED,),
            consumes=(CREATED,),
            work_queues=(WORK,),
            aws=AwsAccess(queues=(QueueGrant("render-work", ("sqs:SendMessage",), "sends"),)),
            workloads=(WORKER,),
        ),
        "gateway": ServiceSpec("gateway", None, "the edge"),
    }


def test_bus_access_is_derived_from_publishes_and_consumes() -> None:
    access = build_access(specs())
    render = {s.sid: s for s in access.workload("render").statements}
    assert render["PublishRenderTopic"].resources == ("topic:render",)
    assert set(render["PublishRenderTopic"].actions) == {"sns:Publish", "sns:CreateTopic"}
    assert render["ConsumeRenderQueue"].actions == CONSUME_ACTIONS
    assert render["ConsumeRenderQueue"].resources == ("queue:render",)
    assert render["DeadLetterRender"].actions == DEAD_LETTER_ACTIONS
    assert render["DeadLetterRender"].resources == ("dlq:render",)
    assert [s.resources for s in render.values() if s.sid.startswith("Queue")] == [
        ("work_queue:render-work",)
    ]


def test_a_workload_gets_only_what_it_declares() -> None:
    access = build_access(specs())
    worker = access.workload("render-worker")
    assert worker.service == "render"
    assert [(s.actions, s.resources) for s in worker.statements] == [
        (("sqs:ReceiveMessage",), ("work_queue:render-work",)),
        (("s3:ListBucket",), ("bucket:models",)),
    ]
    listing = worker.statements[1].conditions[0]
    assert (listing.test, listing.variable, listing.values) == (
        "StringLike",
        "s3:prefix",
        ("models/*",),
    )
    assert access.workload("gateway").statements == ()


def test_a_grant_on_an_undeclared_queue_is_refused() -> None:
    broken = specs()
    broken["gateway"] = ServiceSpec(
        "gateway",
        None,
        "the edge",
        aws=AwsAccess(queues=(QueueGrant("nobody-owns-this", ("sqs:SendMessage",), "?"),)),
    )
    with pytest.raises(ValueError, match="nobody-owns-this"):
        build_access(broken)


@pytest.mark.parametrize(
    "make",
    [
        lambda: S3Grant("images", "tenants/*", ("s3:*",), "wildcard"),
        lambda: S3Grant("images", "*", ("s3:GetObject",), "every key"),
        lambda: S3Grant("images", "tenants/*", ("s3:ListBucket", "s3:GetObject"), "mixed"),
        lambda: S3Grant("logs", "tenants/*", ("s3:GetObject",), "unknown bucket"),  # type: ignore[arg-type]
        lambda: QueueGrant("render-work", ("sqs:*",), "wildcard"),
        lambda: QueueGrant("render-work", ("sqs:PurgeQueue",), "not a worker's"),
        lambda: AwsAccess(ses=("ses:*",)),
    ],
)
def test_wide_or_unknown_grants_are_refused(make) -> None:
    with pytest.raises(AccessError):
        make()


def test_cli_access_writes_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path, capsys) -> None:
    monkeypatch.setattr(cli, "discover", specs)
    out = tmp_path / "access.json"
    assert cli.main(["access", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert sorted(doc["workloads"]) == ["gateway", "render", "render-worker"]
    assert doc["workloads"]["gateway"] == {"service": "gateway", "statements": []}
