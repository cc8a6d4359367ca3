"""SqsBus against moto's real HTTP server (fixture `moto_endpoint`), each test on its own
prefix. Visibility timeouts, waits and back-offs are shrunk so every test stays short."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiobotocore.session import AioSession
from prometheus_client import REGISTRY as METRICS
from structlog.testing import capture_logs

from pingvas_contracts import Envelope, ServiceSpec, model_for, new_envelope
from pingvas_kit.bus import DeadLetter, PublishError, Subscription, Topology, cli
from pingvas_kit.bus.base import watch_dead_letters
from pingvas_kit.bus.sqs import REASON_KIND_ATTRIBUTE, SqsBus
from pingvas_kit.ports import free_port

COMPLETED = "pingvas.render.job.completed.v1"
#: only a filter value: nothing publishes it, so `mail` must receive nothing
NOT_PUBLISHED = "pingvas.render.job.never_published.v1"
REGION = "us-east-1"
ACTIONS = {"created", "updated", "kept", "removed"}


def make_topology(prefix: str, *, max_receive_count: int = 5) -> Topology:
    return Topology(
        prefix=prefix,
        contexts=("render",),
        consumers=("billing", "mail"),
        subscriptions=(
            Subscription(context="render", consumer="billing", types=(COMPLETED,)),
            Subscription(context="render", consumer="mail", types=(NOT_PUBLISHED,)),
        ),
        max_receive_count=max_receive_count,
    )


def job_completed(tenant_id: str | None = "tenant-1", **overrides: Any) -> Envelope:
    data = dict(model_for(COMPLETED).model_json_schema()["examples"][0]) | overrides
    return new_envelope(COMPLETED, data, source="render", tenant_id=tenant_id)


def metric(name: str, **labels: str) -> float:
    return METRICS.get_sample_value(name, labels) or 0.0


BusFactory = Callable[..., Awaitable[SqsBus]]


@pytest.fixture
async def make_bus(moto_endpoint: str, bus_prefix: str) -> AsyncIterator[BusFactory]:
    """Started, provisioned buses (closed afterwards). Small waits and timeouts."""
    buses: list[SqsBus] = []

    async def factory(
        topology: Topology | None = None, *, provision: bool = True, **kwargs: Any
    ) -> SqsBus:
        options: dict[str, Any] = {
            "endpoint_url": moto_endpoint,
            "region": REGION,
            "access_key_id": "test",
            "secret_access_key": "test",
            "wait_seconds": 1,
            "visibility_timeout": 2,
            "retry_base_delay": 0,
            "max_attempts": 1,
        } | kwargs
        bus = SqsBus(topology or make_topology(bus_prefix), **options)
        await bus.start()
        buses.append(bus)
        if provision:
            await bus.provision()
        return bus

    yield factory
    for bus in buses:
        await bus.close()


@pytest.fixture
async def aws(moto_endpoint: str) -> AsyncIterator[dict[str, Any]]:
    """Plain sns/sqs clients, to look at what the bus did from the outside."""
    session = AioSession()
    kwargs = {
        "endpoint_url": moto_endpoint,
        "region_name": REGION,
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
    }
    async with (
        session.create_client("sns", **kwargs) as sns,
        session.create_client("sqs", **kwargs) as sqs,
    ):
        yield {"sns": sns, "sqs": sqs}


async def queue_url(aws: dict[str, Any], name: str) -> str:
    return (await aws["sqs"].get_queue_url(QueueName=name))["QueueUrl"]


async def receive_all(aws: dict[str, Any], name: str, *, wait: int = 1) -> list[dict[str, Any]]:
    response = await aws["sqs"].receive_message(
        QueueUrl=await queue_url(aws, name),
        MaxNumberOfMessages=10,
        WaitTimeSeconds=wait,
        MessageAttributeNames=["All"],
    )
    return response.get("Messages", [])


async def consume_until(
    bus: SqsBus,
    consumer: str,
    handler: Callable[[Envelope], Awaitable[None]],
    done: Callable[[], bool],
    *,
    timeout: float = 8.0,
    replicas: int = 1,
) -> None:
    """Run `replicas` consume loops until `done()` holds, then stop them."""
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(bus.consume(consumer, handler, stop=stop)) for _ in range(replicas)
    ]
    try:
        async with asyncio.timeout(timeout):
            while not done():  # noqa: ASYNC110 - polls what the handlers and the bus change
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)


# -- provisioning ---------------------------------------------------------------------


async def topic_subscriptions(aws: dict[str, Any], topic_arn: str) -> list[dict[str, Any]]:
    response = await aws["sns"].list_subscriptions_by_topic(TopicArn=topic_arn)
    return response["Subscriptions"]


async def test_provision_twice_is_idempotent(
    make_bus: BusFactory, aws: dict[str, Any], bus_prefix: str
) -> None:
    bus = await make_bus()  # provisions once
    assert {a for a, _, _ in bus.provision_report} == {"created"}
    await bus.provision()
    assert {a for a, _, _ in bus.provision_report} == {"kept"}

    topology = bus.topology
    topic_arn = (await aws["sns"].create_topic(Name=topology.topic_name("render")))["TopicArn"]
    subscriptions = await topic_subscriptions(aws, topic_arn)
    assert len(subscriptions) == 2
    by_queue = {s["Endpoint"].rsplit(":", 1)[1]: s for s in subscriptions}
    assert set(by_queue) == {f"{bus_prefix}-billing", f"{bus_prefix}-mail"}
    for consumer, types in (("billing", [COMPLETED]), ("mail", [NOT_PUBLISHED])):
        sub_arn = by_queue[topology.queue_name(consumer)]["SubscriptionArn"]
        attributes = (await aws["sns"].get_subscription_attributes(SubscriptionArn=sub_arn))[
            "Attributes"
        ]
        assert json.loads(attributes["FilterPolicy"]) == {"type": types}
        assert str(attributes["RawMessageDelivery"]).lower() == "true"

        queue = await aws["sqs"].get_queue_attributes(
            QueueUrl=await queue_url(aws, topology.queue_name(consumer)), AttributeNames=["All"]
        )
        dlq = await aws["sqs"].get_queue_attributes(
            QueueUrl=await queue_url(aws, topology.dlq_name(consumer)), AttributeNames=["All"]
        )
        redrive = json.loads(queue["Attributes"]["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == dlq["Attributes"]["QueueArn"]
        assert int(redrive["maxReceiveCount"]) == topology.max_receive_count
        policy = json.loads(queue["Attributes"]["Policy"])
        assert topic_arn in json.dumps(policy["Statement"][0]["Condition"])


async def test_provision_updates_filters_and_drops_stale_subscriptions(
    make_bus: BusFactory, aws: dict[str, Any], bus_prefix: str
) -> None:
    await make_bus()
    changed = Topology(
        prefix=bus_prefix,
        contexts=("render", "tenants"),
        consumers=("billing", "mail"),
        subscriptions=(
            # billing now listens to tenants only; mail gets one more render type
            Subscription(context="render", consumer="mail", types=(NOT_PUBLISHED, COMPLETED)),
            Subscription(context="tenants", consumer="billing", types=("pingvas.tenants.x.v1",)),
        ),
    )
    bus = await make_bus(changed)
    report = {(action, kind) for action, kind, _ in bus.provision_report}
    assert {("updated", "subscription"), ("removed", "subscription")} <= report

    topic_arn = (await aws["sns"].create_topic(Name=f"{bus_prefix}-render"))["TopicArn"]
    [only] = await topic_subscriptions(aws, topic_arn)
    assert only["Endpoint"].endswith(f":{bus_prefix}-mail")
    attributes = (
        await aws["sns"].get_subscription_attributes(SubscriptionArn=only["SubscriptionArn"])
    )["Attributes"]
    assert json.loads(attributes["FilterPolicy"]) == {"type": sorted([NOT_PUBLISHED, COMPLETED])}


# -- publishing and consuming -----------------------------------------------------------


async def test_publish_delivers_the_raw_cloudevent_with_attributes(
    make_bus: BusFactory, aws: dict[str, Any], bus_prefix: str
) -> None:
    bus = await make_bus()
    envelope = job_completed()
    await bus.publish([envelope])

    [message] = await receive_all(aws, f"{bus_prefix}-billing")
    assert message["Body"] == envelope.to_json()  # raw delivery: no SNS JSON wrapper
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes == {
        "type": COMPLETED,
        "tenantid": "tenant-1",
        "traceparent": envelope.traceparent,
    }


async def test_publish_consume_reaches_subscribers_only(
    make_bus: BusFactory, aws: dict[str, Any], bus_prefix: str
) -> None:
    bus = await make_bus()
    sent = job_completed()
    system_event = job_completed(tenant_id=None)
    await bus.publish([sent, system_event])

    received: list[Envelope] = []

    async def handler(envelope: Envelope) -> None:
        received.append(envelope)

    before = metric("pingvas_bus_consumed_total", consumer="billing")
    await consume_until(bus, "billing", handler, lambda: len(received) == 2)
    assert sorted(received, key=lambda e: e.id) == sorted([sent, system_event], key=lambda e: e.id)
    assert metric("pingvas_bus_consumed_total", consumer="billing") == before + 2

    # mail's filter excludes the type: nothing reached its queue
    assert await receive_all(aws, f"{bus_prefix}-mail") == []
    # and billing's messages were deleted once handled
    assert await receive_all(aws, f"{bus_prefix}-billing", wait=0) == []


async def test_publish_many_in_batches(make_bus: BusFactory) -> None:
    bus = await make_bus()
    envelopes = [job_completed(tenant_id=f"t{i % 3}") for i in range(37)]
    await bus.publish(envelopes)

    seen: set[str] = set()

    async def handler(envelope: Envelope) -> None:
        seen.add(envelope.id)

    await consume_until(bus, "billing", handler, lambda: len(seen) == len(envelopes))
    assert seen == {e.id for e in envelopes}


async def test_publish_error_names_every_unpublished_event(make_bus: BusFactory) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    bus = await make_bus(endpoint_url=dead, provision=False)
    envelopes = [job_completed() for _ in range(12)]
    with pytest.raises(PublishError) as caught:
        await bus.publish(envelopes)
    assert sorted(caught.value.failed_ids) == sorted(e.id for e in envelopes)

    with pytest.raises(Exception):  # noqa: B017 - any transport error will do
        await bus.ping()


async def test_ping(make_bus: BusFactory) -> None:
    bus = await make_bus()
    await bus.ping()


# -- poison messages, retries, heartbeat ---------------------------------------------------


async def test_poison_messages_end_in_the_dlq_and_the_consumer_goes_on(
    make_bus: BusFactory, aws: dict[str, Any], bus_prefix: str
) -> None:
    bus = await make_bus()
    url = await queue_url(aws, f"{bus_prefix}-billing")
    not_json = "this is {not json"
    unknown = job_completed().model_copy(update={"type": "pingvas.render.nothing.v1"}).to_json()
    bad_data = job_completed(credits_used=-1, image_ids=[]).to_json()
    good = job_completed()
    for body in (not_json, unknown, bad_data, good.to_json()):
        await aws["sqs"].send_message(
            QueueUrl=url,
            MessageBody=body,
            MessageAttributes={"type": {"DataType": "String", "StringValue": COMPLETED}},
        )
        await asyncio.sleep(0.01)  # keep moto's order

    def dead(kind: str) -> float:
        return metric("pingvas_bus_dead_lettered_total", consumer="billing", reason=kind)

    before = {k: dead(k) for k in ("not_json", "unknown_type", "schema")}
    handled: list[Envelope] = []

    async def handler(envelope: Envelope) -> None:
        handled.append(envelope)

    with capture_logs() as logs:
        await consume_until(
            bus, "billing", handler, lambda: handled and dead("schema") > before["schema"]
        )
    await asyncio.sleep(0.2)
    assert handled == [good]
    dead_logs = [entry for entry in logs if entry["event"] == "bus.dead_lettered"]
    assert len(dead_logs) == 3
    for entry in dead_logs:
        assert entry["consumer"] == "billing" and entry["message_id"] and entry["reason"]
        assert not any(body in str(entry) for body in (not_json, unknown, bad_data))
    assert {k: dead(k) - before[k] for k in before} == {
        "not_json": 1,
        "unknown_type": 1,
        "schema": 1,
    }

    # peek at the DLQ's attributes first, then take the letters through the bus
    dlq_messages = await receive_all(aws, f"{bus_prefix}-billing-dlq")
    kinds = {
        m["Body"]: m["MessageAttributes"][REASON_KIND_ATTRIBUTE]["StringValue"]
        for m in dlq_messages
    }
    assert kinds == {not_json: "not_json", unknown: "unknown_type", bad_data: "schema"}
    await aws["sqs"].change_message_visibility_batch(
        QueueUrl=await queue_url(aws, f"{bus_prefix}-billing-dlq"),
        Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
            for i, m in enumerate(dlq_messages)
        ],
    )
    await asyncio.sleep(0.01)
    # the depth the consumer reports for the alert: one cheap attribute read, nothing taken
    assert await bus.dead_letter_depth("billing") == 3
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_dead_letters(bus, "billing", stop=stop, interval=0.05))
    await asyncio.sleep(0.3)
    assert metric("pingvas_bus_dead_letter_depth", consumer="billing") == 3
    letters = {letter.body: letter.reason for letter in await bus.dead_letters("billing")}
    await asyncio.sleep(0.3)
    assert metric("pingvas_bus_dead_letter_depth", consumer="billing") == 0
    stop.set()
    await asyncio.wait_for(watcher, 2)
    assert set(letters) == {not_json, unknown, bad_data}  # bodies unchanged
    assert letters[not_json] == "body is not JSON"
    assert "unknown event type" in letters[unknown]
    assert COMPLETED in letters[bad_data] and "credits_used" in letters[bad_data]
    assert await bus.dead_letters("billing") == []  # they were taken off the DLQ
    assert await receive_all(aws, f"{bus_prefix}-billing", wait=0) == []


async def test_failing_handler_is_retried_after_a_back_off(
    make_bus: BusFactory, aws: dict[str, Any], bus_prefix: str
) -> None:
    # a 5 s visibility timeout, a 1 s back-off: the retries must come after the back-off
    bus = await make_bus(visibility_timeout=5, retry_base_delay=1, retry_max_delay=1)
    envelope = job_completed()
    await bus.publish([envelope])
    attempts: list[float] = []
    handled: list[Envelope] = []

    async def flaky(received: Envelope) -> None:
        attempts.append(time.monotonic())
        if len(attempts) <= 2:
            raise RuntimeError("database is down")
        handled.append(received)

    errors = metric("pingvas_bus_handler_errors_total", consumer="billing")
    with capture_logs() as logs:
        await consume_until(bus, "billing", flaky, lambda: bool(handled))
    failures = [entry for entry in logs if entry["event"] == "bus.handler_failed"]
    assert len(failures) == 2
    assert failures[0]["event_id"] == envelope.id and failures[0]["event_type"] == COMPLETED
    assert failures[0]["exc_info"] is True and failures[0]["log_level"] == "error"
    assert handled == [envelope]
    assert len(attempts) == 3
    # each retry waited for the back-off (1 s), not for the 5 s visibility timeout
    gaps = [b - a for a, b in zip(attempts, attempts[1:], strict=False)]
    assert all(0.9 <= gap < 2.9 for gap in gaps), gaps
    assert metric("pingvas_bus_handler_errors_total", consumer="billing") == errors + 2
    assert await receive_all(aws, f"{bus_prefix}-billing", wait=0) == []
    assert await bus.dead_letters("billing") == []


async def test_handler_failing_every_time_is_dead_lettered(
    make_bus: BusFactory, bus_prefix: str
) -> None:
    bus = await make_bus(make_topology(bus_prefix, max_receive_count=2))
    envelope = job_completed()
    await bus.publish([envelope])
    attempts = 0

    async def broken(_: Envelope) -> None:
        nonlocal attempts
        attempts += 1
        raise ValueError("bug")

    before = metric("pingvas_bus_dead_lettered_total", consumer="billing", reason="handler_failed")
    await consume_until(
        bus,
        "billing",
        broken,
        lambda: (
            metric("pingvas_bus_dead_lettered_total", consumer="billing", reason="handler_failed")
            > before
        ),
    )
    assert attempts == 2
    assert await bus.dead_letters("billing") == [
        DeadLetter(body=envelope.to_json(), reason="handler failed 2 times (last: ValueError)")
    ]


async def test_heartbeat_keeps_a_slow_message_from_a_second_replica(
    make_bus: BusFactory, aws: dict[str, Any], bus_prefix: str
) -> None:
    bus = await make_bus(visibility_timeout=1)
    envelope = job_completed()
    await bus.publish([envelope])
    calls: list[str] = []
    finished: list[str] = []

    async def slow(received: Envelope) -> None:
        calls.append(received.id)
        await asyncio.sleep(3.2)  # more than three visibility timeouts
        finished.append(received.id)

    started = time.monotonic()
    # two replicas poll the queue; without the heartbeat the second one would get the
    # message a second time after 1 s
    await consume_until(bus, "billing", slow, lambda: bool(finished), replicas=2)
    await asyncio.sleep(0)
    assert calls == [envelope.id]
    assert time.monotonic() - started < 7
    assert await receive_all(aws, f"{bus_prefix}-billing", wait=0) == []


async def test_concurrency_limit(make_bus: BusFactory) -> None:
    bus = await make_bus(concurrency=2)
    await bus.publish([job_completed() for _ in range(6)])
    running = 0
    most = 0
    handled = 0

    async def handler(_: Envelope) -> None:
        nonlocal running, most, handled
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.1)
        running -= 1
        handled += 1

    await consume_until(bus, "billing", handler, lambda: handled == 6)
    assert most == 2


# -- the loop itself ----------------------------------------------------------------------


async def test_stop_interrupts_a_long_poll(make_bus: BusFactory) -> None:
    bus = await make_bus(wait_seconds=20)
    stop = asyncio.Event()

    async def handler(_: Envelope) -> None:
        raise AssertionError("nothing was published")

    task = asyncio.create_task(bus.consume("billing", handler, stop=stop))
    await asyncio.sleep(0.5)
    started = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, timeout=2)
    assert time.monotonic() - started < 1


async def test_consume_survives_errors_until_stopped(make_bus: BusFactory) -> None:
    # a queue that does not exist, and an endpoint where nothing listens: every call
    # fails, the loop logs and keeps backing off
    bus = await make_bus(make_topology("unprovisioned"), provision=False)
    bus_down = await make_bus(endpoint_url=f"http://127.0.0.1:{free_port()}", provision=False)
    stop = asyncio.Event()

    async def handler(_: Envelope) -> None:
        raise AssertionError("unreachable")

    tasks = [asyncio.create_task(b.consume("billing", handler, stop=stop)) for b in (bus, bus_down)]
    await asyncio.sleep(1.5)
    assert not any(t.done() for t in tasks)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=3)


async def test_purge_empties_queue_and_dlq(
    make_bus: BusFactory, aws: dict[str, Any], bus_prefix: str
) -> None:
    bus = await make_bus()
    await bus.publish([job_completed() for _ in range(3)])
    await aws["sqs"].send_message(
        QueueUrl=await queue_url(aws, f"{bus_prefix}-billing-dlq"), MessageBody="x"
    )
    await bus.purge("billing")
    await bus.purge("billing")  # a second purge right away is fine
    assert await receive_all(aws, f"{bus_prefix}-billing", wait=0) == []
    assert await bus.dead_letters("billing") == []


# -- the command ---------------------------------------------------------------------------


def test_cli_provision_and_dead_letters(
    moto_endpoint: str, bus_prefix: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    specs = {
        "render": ServiceSpec("render", "render", "renders", publishes=(COMPLETED,)),
        "billing": ServiceSpec("billing", "billing", "credits", consumes=(COMPLETED,)),
    }
    monkeypatch.setattr(cli, "discover", lambda: specs)
    monkeypatch.setenv("PINGVAS_BUS", "sqs")
    monkeypatch.setenv("PINGVAS_BUS_PREFIX", bus_prefix)
    monkeypatch.setenv("PINGVAS_AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # the flag wins

    def report() -> list[list[str]]:
        lines = [line.split() for line in capsys.readouterr().out.splitlines()]
        return [words for words in lines if words and words[0] in ACTIONS]

    assert cli.main(["provision", "--endpoint-url", moto_endpoint]) == 0
    first = report()
    assert ["created", "subscription"] in [words[:2] for words in first]
    assert cli.main(["provision", "--endpoint-url", moto_endpoint]) == 0
    second = report()
    assert len(second) == len(first) == 5  # topic, dlq, queue, queue policy, subscription
    assert {words[0] for words in second} == {"kept"}

    monkeypatch.setenv("PINGVAS_AWS_ENDPOINT_URL", moto_endpoint)

    async def dead_letter() -> None:
        session = AioSession()
        async with session.create_client(
            "sqs", endpoint_url=moto_endpoint, region_name=REGION
        ) as sqs:
            url = (await sqs.get_queue_url(QueueName=f"{bus_prefix}-billing-dlq"))["QueueUrl"]
            await sqs.send_message(
                QueueUrl=url,
                MessageBody="[1, 2]",
                MessageAttributes={
                    "reason": {"DataType": "String", "StringValue": "body is not a JSON object"}
                },
            )

    asyncio.run(dead_letter())
    assert cli.main(["dead-letters", "billing"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line) == {"reason": "body is not a JSON object", "body": "[1, 2]"}
    assert cli.main(["dead-letters", "nobody"]) == 2
