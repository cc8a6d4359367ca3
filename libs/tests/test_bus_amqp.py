"""AmqpBus against the real RabbitMQ (fixture `amqp_url`), each test on its own prefix."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import aio_pika
import pytest
from prometheus_client import REGISTRY as METRICS

from pingvas_contracts import Envelope, model_for, new_envelope
from pingvas_kit.bus import DeadLetter, Subscription, Topology
from pingvas_kit.bus.amqp import REASON_HEADER, REASON_KIND_HEADER, AmqpBus

pytestmark = pytest.mark.rabbitmq

JOB_COMPLETED = "pingvas.render.job.completed.v1"
UNRELATED = "pingvas.test.unrelated.v1"  # only a routing key: nobody publishes it
CONSUMER = "billing"
OTHER = "other"


def make_topology(prefix: str, *, max_receive_count: int = 3) -> Topology:
    return Topology(
        prefix=prefix,
        contexts=("render", "test"),
        consumers=(CONSUMER, OTHER),
        subscriptions=(
            Subscription(context="render", consumer=CONSUMER, types=(JOB_COMPLETED,)),
            Subscription(context="test", consumer=OTHER, types=(UNRELATED,)),
        ),
        max_receive_count=max_receive_count,
    )


def example_data() -> dict:
    return dict(model_for(JOB_COMPLETED).model_json_schema()["examples"][0])


def job_completed(**overrides: object) -> Envelope:
    return new_envelope(
        JOB_COMPLETED, example_data() | overrides, source="render", tenant_id="tenant-1"
    )


async def _delete_all(amqp_url: str, topology: Topology) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        for consumer in topology.consumers:
            for name in (topology.queue_name(consumer), topology.dlq_name(consumer)):
                await channel.queue_delete(name)
        for name in (topology.exchange_name(), topology.dead_letter_exchange_name()):
            await channel.exchange_delete(name)
    finally:
        await connection.close()


@pytest.fixture
def topology(bus_prefix: str) -> Topology:
    return make_topology(bus_prefix)


@pytest.fixture
async def bus(amqp_url: str, topology: Topology) -> AsyncIterator[AmqpBus]:
    bus = AmqpBus(topology, url=amqp_url, concurrency=4, retry_delay=0.05, max_retry_delay=0.2)
    await bus.start()
    try:
        await bus.provision()
        yield bus
    finally:
        await bus.close()
        await _delete_all(amqp_url, topology)


async def queue_depth(amqp_url: str, name: str) -> int:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(name, passive=True)
        return queue.declaration_result.message_count
    finally:
        await connection.close()


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def consuming(
    bus: AmqpBus, consumer: str, handler: Callable[[Envelope], Awaitable[None]]
) -> AsyncIterator[asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(bus.consume(consumer, handler, stop=stop))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def publish_raw(bus: AmqpBus, body: bytes, routing_key: str = JOB_COMPLETED) -> None:
    connection = bus._require_connection()
    channel = await connection.channel(publisher_confirms=True)
    try:
        exchange = await channel.get_exchange(bus.topology.exchange_name(), ensure=True)
        await exchange.publish(
            aio_pika.Message(body, content_type="application/json"),
            routing_key=routing_key,
            mandatory=True,
        )
    finally:
        await channel.close()


async def take_dead_letters(bus: AmqpBus, consumer: str, count: int) -> list[DeadLetter]:
    letters: list[DeadLetter] = []

    async def enough() -> bool:
        letters.extend(await bus.dead_letters(consumer, max_messages=count))
        return len(letters) >= count

    await eventually(enough)
    return letters


def metric(name: str, **labels: str) -> float:
    return METRICS.get_sample_value(name, labels) or 0.0


async def test_provision_is_idempotent(bus: AmqpBus, amqp_url: str, topology: Topology) -> None:
    await bus.provision()
    await bus.provision()
    for consumer in topology.consumers:
        assert await queue_depth(amqp_url, topology.queue_name(consumer)) == 0
        assert await queue_depth(amqp_url, topology.dlq_name(consumer)) == 0
    await bus.ping()


async def test_provision_with_conflicting_arguments_fails_clearly(
    bus: AmqpBus, amqp_url: str, bus_prefix: str
) -> None:
    other = AmqpBus(make_topology(bus_prefix, max_receive_count=7), url=amqp_url)
    await other.start()
    try:
        with pytest.raises(RuntimeError, match="other arguments"):
            await other.provision()
    finally:
        await other.close()


async def test_publish_then_consume_delivers_exact_envelope(
    bus: AmqpBus, amqp_url: str, topology: Topology
) -> None:
    envelope = job_completed()
    consumed_before = metric("pingvas_bus_consumed_total", consumer=CONSUMER)
    await bus.publish([envelope])

    # confirmed means enqueued: routed to the subscriber only
    assert await queue_depth(amqp_url, topology.queue_name(CONSUMER)) == 1
    assert await queue_depth(amqp_url, topology.queue_name(OTHER)) == 0

    received: list[Envelope] = []

    async def handler(env: Envelope) -> None:
        received.append(env)

    async with consuming(bus, CONSUMER, handler):
        await eventually(lambda: len(received) == 1)

    assert received == [envelope]
    assert received[0].to_json() == envelope.to_json()
    assert metric("pingvas_bus_consumed_total", consumer=CONSUMER) == consumed_before + 1
    assert await queue_depth(amqp_url, topology.queue_name(CONSUMER)) == 0
    assert await bus.dead_letters(CONSUMER) == []


async def test_publish_many_concurrently_and_message_properties(
    bus: AmqpBus, amqp_url: str, topology: Topology
) -> None:
    envelopes = [job_completed(job_id=f"job-{i}") for i in range(20)]
    await bus.publish(envelopes)
    assert await queue_depth(amqp_url, topology.queue_name(CONSUMER)) == 20

    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(topology.queue_name(CONSUMER), passive=True)
        message = await queue.get(no_ack=True)
    finally:
        await connection.close()
    first = next(e for e in envelopes if e.id == message.message_id)
    assert message.body == first.to_json().encode()
    assert message.content_type == "application/json"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.headers["type"] == JOB_COMPLETED
    assert message.headers["tenantid"] == "tenant-1"
    assert message.headers["traceparent"] == first.traceparent


async def test_an_event_nobody_subscribes_to_is_accepted(bus: AmqpBus) -> None:
    # as on SNS: publishing must not fail (and stall the outbox) for want of a consumer
    routed = job_completed()
    nobody = new_envelope(UNRELATED.replace("unrelated", "nobody"), {}, source="t", tenant_id=None)
    await bus.publish([routed, nobody])


async def test_poison_messages_are_dead_lettered_with_reason(
    bus: AmqpBus, amqp_url: str, topology: Topology
) -> None:
    dead_before = {
        kind: metric("pingvas_bus_dead_lettered_total", consumer=CONSUMER, reason=kind)
        for kind in ("not_json", "not_cloudevent", "unknown_type", "schema")
    }
    valid = job_completed()
    unknown = json.loads(job_completed().to_json()) | {"type": "pingvas.render.unheard_of.v1"}
    bad_data = json.loads(job_completed().to_json()) | {"data": {"job_id": "j"}}
    not_event = {"hello": "world"}

    await publish_raw(bus, b"\xffnot json at all")
    await publish_raw(bus, json.dumps(not_event).encode())
    await publish_raw(bus, json.dumps(unknown).encode())
    await publish_raw(bus, json.dumps(bad_data).encode())
    await bus.publish([valid])

    received: list[Envelope] = []

    async def handler(env: Envelope) -> None:
        received.append(env)

    async def depth_is(n: int) -> bool:
        return await bus.dead_letter_depth(CONSUMER) == n

    async with consuming(bus, CONSUMER, handler):
        await eventually(lambda: len(received) == 1)
        await eventually(lambda: depth_is(4))  # a passive declare's count: nothing taken
        letters = await take_dead_letters(bus, CONSUMER, 4)
        assert await bus.dead_letter_depth(CONSUMER) == 0

    assert received == [valid]
    by_body = {letter.body: letter.reason for letter in letters}
    assert len(by_body) == 4
    assert by_body[b"\xffnot json at all".decode("utf-8", errors="replace")] == "body is not JSON"
    assert "not a valid CloudEvent" in by_body[json.dumps(not_event)]
    assert "unknown event type" in by_body[json.dumps(unknown)]
    schema_reason = by_body[json.dumps(bad_data)]
    assert schema_reason.startswith(JOB_COMPLETED) and "image_ids" in schema_reason
    for kind, before in dead_before.items():
        after = metric("pingvas_bus_dead_lettered_total", consumer=CONSUMER, reason=kind)
        assert after == before + 1, kind
    assert await queue_depth(amqp_url, topology.queue_name(CONSUMER)) == 0


async def test_dead_lettered_copy_keeps_reason_headers(
    bus: AmqpBus, amqp_url: str, topology: Topology
) -> None:
    await publish_raw(bus, b"[1, 2]")
    async with consuming(bus, CONSUMER, _never_called):
        await eventually(lambda: queue_depth(amqp_url, topology.dlq_name(CONSUMER)), timeout=5)
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        dlq = await channel.declare_queue(topology.dlq_name(CONSUMER), passive=True)
        message = await dlq.get(no_ack=True)
    finally:
        await connection.close()
    assert message.body == b"[1, 2]"
    assert message.headers[REASON_HEADER] == "body is not a JSON object"
    assert message.headers[REASON_KIND_HEADER] == "not_cloudevent"


async def _never_called(env: Envelope) -> None:  # pragma: no cover
    raise AssertionError(f"handler called with {env.id}")


async def test_failing_handler_is_retried_then_handled(
    bus: AmqpBus, amqp_url: str, topology: Topology
) -> None:
    envelope = job_completed()
    await bus.publish([envelope])
    errors_before = metric("pingvas_bus_handler_errors_total", consumer=CONSUMER)
    attempts: list[Envelope] = []
    handled: list[Envelope] = []

    async def flaky(env: Envelope) -> None:
        attempts.append(env)
        if len(attempts) <= 2:
            raise RuntimeError("transient")
        handled.append(env)

    async with consuming(bus, CONSUMER, flaky):
        await eventually(lambda: len(handled) == 1)

    assert attempts == [envelope] * 3
    assert handled == [envelope]
    assert metric("pingvas_bus_handler_errors_total", consumer=CONSUMER) == errors_before + 2
    assert await queue_depth(amqp_url, topology.queue_name(CONSUMER)) == 0
    assert await bus.dead_letters(CONSUMER) == []


async def test_always_failing_handler_ends_in_dlq_after_delivery_limit(
    bus: AmqpBus, amqp_url: str, topology: Topology
) -> None:
    envelope = job_completed()
    following = job_completed()
    await bus.publish([envelope])
    attempts: list[str] = []

    async def handler(env: Envelope) -> None:
        attempts.append(env.id)
        if env.id == envelope.id:
            raise RuntimeError("always broken")

    async with consuming(bus, CONSUMER, handler):
        letters = await take_dead_letters(bus, CONSUMER, 1)
        # the consumer keeps going after it
        await bus.publish([following])
        await eventually(lambda: following.id in attempts)

    # max_receive_count deliveries in all, like SQS's maxReceiveCount
    assert attempts.count(envelope.id) == topology.max_receive_count
    assert letters == [DeadLetter(body=envelope.to_json(), reason=None)]
    assert Envelope.from_json(letters[0].body) == envelope
    assert await queue_depth(amqp_url, topology.queue_name(CONSUMER)) == 0


async def test_consumer_stops_promptly_and_releases_unfinished_work(
    bus: AmqpBus, amqp_url: str, topology: Topology
) -> None:
    started = asyncio.Event()

    async def slow(env: Envelope) -> None:
        started.set()
        await asyncio.sleep(0.3)

    await bus.publish([job_completed()])
    stop = asyncio.Event()
    task = asyncio.create_task(bus.consume(CONSUMER, slow, stop=stop))
    await asyncio.wait_for(started.wait(), 5)
    begun = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, 5)
    assert time.monotonic() - begun < 2
    # the in-flight message was finished and acknowledged before the consumer left
    assert await queue_depth(amqp_url, topology.queue_name(CONSUMER)) == 0

    # an idle consumer stops at once too
    stop = asyncio.Event()
    task = asyncio.create_task(bus.consume(CONSUMER, slow, stop=stop))
    await asyncio.sleep(0.2)
    begun = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, 5)
    assert time.monotonic() - begun < 1


async def test_purge_empties_queue_and_dlq(bus: AmqpBus, amqp_url: str, topology: Topology) -> None:
    await bus.publish([job_completed(), job_completed()])
    await publish_raw(bus, b"nope")
    async with consuming(bus, CONSUMER, _always_fails):
        await eventually(lambda: queue_depth(amqp_url, topology.dlq_name(CONSUMER)))
    await bus.purge(CONSUMER)
    assert await queue_depth(amqp_url, topology.queue_name(CONSUMER)) == 0
    assert await queue_depth(amqp_url, topology.dlq_name(CONSUMER)) == 0


async def _always_fails(env: Envelope) -> None:
    raise RuntimeError("not now")


async def test_ping_and_close(amqp_url: str, topology: Topology) -> None:
    bus = AmqpBus(topology, url=amqp_url)
    with pytest.raises(ConnectionError):
        await bus.ping()
    async with bus:
        await bus.ping()
    with pytest.raises(ConnectionError):
        await bus.ping()
    with pytest.raises(ConnectionError):
        await bus.publish([job_completed()])


async def test_redrive_moves_dead_letters_back_once_and_poison_is_dead_lettered_again(
    bus: AmqpBus, amqp_url: str, topology: Topology
) -> None:
    """`pingvas-bus redrive` on RabbitMQ: what the DLQ holds goes back to the consumer's
    queue without its reason, the event is handled, the poison dead-lettered again with
    its reason, and a running consumer's fresh dead letter is not chased round."""
    good = job_completed()
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        for body, headers in (
            (b"not json {", {REASON_HEADER: "an old reason", REASON_KIND_HEADER: "old"}),
            (good.to_json().encode(), {REASON_HEADER: "handler failed", "type": JOB_COMPLETED}),
        ):
            await channel.default_exchange.publish(
                aio_pika.Message(body, headers=headers), routing_key=topology.dlq_name(CONSUMER)
            )
    finally:
        await connection.close()
    await eventually(lambda: queue_depth(amqp_url, topology.dlq_name(CONSUMER)), timeout=5)

    assert await bus.redrive(CONSUMER, max_messages=1) == 1
    assert await bus.redrive(CONSUMER) == 1
    assert await bus.redrive(CONSUMER) == 0
    assert await queue_depth(amqp_url, topology.queue_name(CONSUMER)) == 2
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(topology.queue_name(CONSUMER), passive=True)
        back = [await queue.get(no_ack=False) for _ in range(2)]
        # the reasons stay behind; the other headers come along
        assert sorted(dict(m.headers or {}).get("type", "-") for m in back) == ["-", JOB_COMPLETED]
        assert not any(REASON_HEADER in (m.headers or {}) for m in back)
        for message in back:
            await message.nack(requeue=True)
    finally:
        await connection.close()

    handled: list[Envelope] = []

    async def handler(env: Envelope) -> None:
        handled.append(env)

    async with consuming(bus, CONSUMER, handler):
        await eventually(lambda: len(handled) == 1)
        letters = await take_dead_letters(bus, CONSUMER, 1)
    assert handled == [good]
    assert [(letter.body, letter.reason) for letter in letters] == [
        ("not json {", "body is not JSON")
    ]
