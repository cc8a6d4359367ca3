"""`pingvas-bus redrive` (dead letters back to their queue) and the fault suite's
`bus_publish_copies` (every event published more than once), against moto's server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiobotocore.session import AioSession

from pingvas_contracts import Envelope, ServiceSpec, model_for, new_envelope
from pingvas_kit.bus import Subscription, Topology, cli, make_bus
from pingvas_kit.bus._copies import CopyingBus
from pingvas_kit.bus.sqs import REASON_ATTRIBUTE, REASON_KIND_ATTRIBUTE, SqsBus
from pingvas_kit.settings import ServiceSettings

COMPLETED = "pingvas.render.job.completed.v1"
REGION = "us-east-1"


def topology(prefix: str) -> Topology:
    return Topology(
        prefix=prefix,
        contexts=("render",),
        consumers=("billing",),
        subscriptions=(Subscription(context="render", consumer="billing", types=(COMPLETED,)),),
        max_receive_count=5,
    )


def job_completed() -> Envelope:
    data = dict(model_for(COMPLETED).model_json_schema()["examples"][0])
    return new_envelope(COMPLETED, data, source="render", tenant_id="tenant-1")


def settings(moto_endpoint: str, prefix: str, **overrides: Any) -> ServiceSettings:
    return ServiceSettings(
        aws_endpoint_url=moto_endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        bus_prefix=prefix,
        bus_wait_seconds=1,
        bus_visibility_timeout=2,
        **overrides,
    )


@pytest.fixture
async def sqs(moto_endpoint: str) -> AsyncIterator[Any]:
    async with AioSession().create_client(
        "sqs",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ) as client:
        yield client


async def drain(sqs: Any, name: str, *, wait: int = 1) -> list[dict[str, Any]]:
    """Every message of the queue (taken off it)."""
    url = (await sqs.get_queue_url(QueueName=name))["QueueUrl"]
    taken: list[dict[str, Any]] = []
    while True:
        messages = (
            await sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=wait,
                MessageAttributeNames=["All"],
            )
        ).get("Messages", [])
        if not messages:
            return taken
        taken += messages
        await sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )


async def test_publish_copies_sends_every_event_that_many_times(
    moto_endpoint: str, bus_prefix: str, sqs: Any
) -> None:
    bus = make_bus(settings(moto_endpoint, bus_prefix, bus_publish_copies=2), topology(bus_prefix))
    assert isinstance(bus, CopyingBus)
    plain = make_bus(settings(moto_endpoint, bus_prefix), topology(bus_prefix))
    assert isinstance(plain, SqsBus)  # off by default
    envelopes = [job_completed(), job_completed()]
    async with bus:
        await bus.provision()
        await bus.publish(envelopes)
    received = await drain(sqs, f"{bus_prefix}-billing")
    ids = sorted(Envelope.from_json(m["Body"]).id for m in received)
    assert ids == sorted([e.id for e in envelopes] * 2)
    assert len({m["MessageId"] for m in received}) == 4  # four broker messages


def test_the_copies_setting_is_bounded() -> None:
    with pytest.raises(ValueError):
        ServiceSettings(bus_publish_copies=0)


async def test_redrive_moves_dead_letters_back_and_poison_is_dead_lettered_again(
    moto_endpoint: str, bus_prefix: str, sqs: Any
) -> None:
    bus = make_bus(settings(moto_endpoint, bus_prefix), topology(bus_prefix))
    good = job_completed()
    async with bus:
        await bus.provision()
        dlq = (await sqs.get_queue_url(QueueName=f"{bus_prefix}-billing-dlq"))["QueueUrl"]
        for body, reason in (
            ("not json {", "body is not JSON"),
            (good.to_json(), "handler failed"),
        ):
            await sqs.send_message(
                QueueUrl=dlq,
                MessageBody=body,
                MessageAttributes={
                    "type": {"DataType": "String", "StringValue": COMPLETED},
                    REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason},
                    REASON_KIND_ATTRIBUTE: {"DataType": "String", "StringValue": "x"},
                },
            )
        assert await bus.redrive("billing") == 2
        assert await drain(sqs, f"{bus_prefix}-billing-dlq", wait=0) == []
        back = await drain(sqs, f"{bus_prefix}-billing")
        assert sorted(m["Body"] for m in back) == sorted(["not json {", good.to_json()])
        for message in back:  # the reasons stay behind; the other attributes come along
            assert set(message["MessageAttributes"]) == {"type"}

        # once more, now consumed: the event is handled, the poison dead-lettered again
        for message in back:
            await sqs.send_message(
                QueueUrl=dlq,
                MessageBody=message["Body"],
                MessageAttributes={REASON_ATTRIBUTE: {"DataType": "String", "StringValue": "r"}},
            )
        assert await bus.redrive("billing", max_messages=1) == 1
        assert await bus.redrive("billing") == 1
        handled: list[Envelope] = []

        async def handler(envelope: Envelope) -> None:
            handled.append(envelope)

        stop = asyncio.Event()
        task = asyncio.create_task(bus.consume("billing", handler, stop=stop))
        letters: list[Any] = []
        async with asyncio.timeout(10):
            while not (handled and letters):
                letters += await bus.dead_letters("billing")
                await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(task, 5)
    assert handled == [good]
    assert [(letter.body, letter.reason) for letter in letters] == [
        ("not json {", "body is not JSON")
    ]


def test_cli_redrive(
    moto_endpoint: str, bus_prefix: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    specs = {
        "render": ServiceSpec("render", "render", "renders", publishes=(COMPLETED,)),
        "billing": ServiceSpec("billing", "billing", "credits", consumes=(COMPLETED,)),
    }
    monkeypatch.setattr(cli, "discover", lambda: specs)
    monkeypatch.setenv("PINGVAS_BUS_PREFIX", bus_prefix)
    monkeypatch.setenv("PINGVAS_AWS_ENDPOINT_URL", moto_endpoint)
    assert cli.main(["provision"]) == 0

    async def dead_letter() -> None:
        async with AioSession().create_client(
            "sqs", endpoint_url=moto_endpoint, region_name=REGION
        ) as client:
            url = (await client.get_queue_url(QueueName=f"{bus_prefix}-billing-dlq"))["QueueUrl"]
            for _ in range(3):
                await client.send_message(QueueUrl=url, MessageBody="[1, 2]")

    asyncio.run(dead_letter())
    capsys.readouterr()
    # the command's answer is stdout's last line (in this process, logging that another
    # test configured may write there too; a real run logs to stderr)
    assert cli.main(["redrive", "billing", "--max", "2"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == f"2 dead letter(s) moved back to {bus_prefix}-billing"
    assert cli.main(["redrive", "billing"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("1 dead letter(s)")
    assert cli.main(["redrive", "nobody"]) == 2


async def test_redrive_moves_only_what_the_dlq_held_while_a_consumer_dead_letters_again(
    moto_endpoint: str, bus_prefix: str, sqs: Any
) -> None:
    """A running consumer dead-letters a redriven poison message at once; redrive must
    not chase it round (it once moved the same two messages 100 times)."""
    bus = make_bus(settings(moto_endpoint, bus_prefix), topology(bus_prefix))
    async with bus:
        await bus.provision()
        dlq = (await sqs.get_queue_url(QueueName=f"{bus_prefix}-billing-dlq"))["QueueUrl"]
        for body in ("not json {", "[1, 2]"):
            await sqs.send_message(QueueUrl=dlq, MessageBody=body)

        async def handler(envelope: Envelope) -> None:
            raise AssertionError("no event here")

        stop = asyncio.Event()
        task = asyncio.create_task(bus.consume("billing", handler, stop=stop))
        try:
            moved = [await bus.redrive("billing", max_messages=50) for _ in range(3)]
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)
    assert all(n <= 2 for n in moved) and moved[0] == 2, moved


def test_production_refuses_the_fault_suites_publish_copies(monkeypatch) -> None:  # noqa: ANN001
    from pydantic import ValidationError

    from pingvas_kit.settings import ServiceSettings

    with pytest.raises(ValidationError, match="bus_publish_copies"):
        ServiceSettings(environment="production", bus_publish_copies=2)
    assert ServiceSettings(environment="development", bus_publish_copies=2).bus_publish_copies == 2
