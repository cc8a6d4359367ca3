"""AsyncPingvas against the same real HTTP server: retries with one idempotency key and
Retry-After, errors, pagination, SSE reconnect, generate()."""

from __future__ import annotations

import pytest
from fakeapi import FakeAPI, Reply, Seen, image, job, pages, sse_job
from pingvas_client import APIError, AsyncPingvas, models


def client(api: FakeAPI, **kw) -> tuple[AsyncPingvas, list[float]]:
    c = AsyncPingvas(api_key="pvk_abcdefgh_" + "y" * 32, base_url=api.url, **kw)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    c._sleep = sleep
    return c, sleeps


async def test_retries_keep_the_idempotency_key_and_honour_retry_after():
    answers = [
        lambda r: r.problem(503, "unavailable", headers={"Retry-After": "3"}),
        lambda r: r.hang_up(),
        lambda r: r.json(202, job("job_a")),
    ]

    def handle(seen: Seen, reply: Reply) -> None:
        answers.pop(0)(reply)

    with FakeAPI(handle) as api:
        c, sleeps = client(api, backoff=0.2)
        async with c:
            created = await c.generations.create(prompt="a cat", model="tiny-sd1")
        assert isinstance(created, models.JobOut) and created.id == "job_a"
        assert len({s.headers["idempotency-key"] for s in api.seen}) == 1 and len(api.seen) == 3
        assert sleeps == [3.0, 0.4]


async def test_a_problem_is_an_api_error():
    with FakeAPI(lambda s, r: r.problem(404, "not_found")) as api:
        c, sleeps = client(api)
        with pytest.raises(APIError) as caught:
            await c.images.get("img_x")
        assert (caught.value.status, caught.value.code, caught.value.detail) == (
            404,
            "not_found",
            "Detail of not_found.",
        )
        assert sleeps == [] and len(api.seen) == 1
        await c.aclose()


async def test_pagination_follows_next_cursor():
    imgs = [image(f"img_{i}") for i in range(5)]
    with FakeAPI(pages("/api/v1/images", imgs, 2)) as api:
        c, _ = client(api)
        assert [i.id async for i in c.images.list(limit=2)] == [f"img_{i}" for i in range(5)]
        assert [s.query.get("cursor") for s in api.seen] == [None, "2", "4"]
        await c.aclose()


async def test_events_reconnect_and_generate_waits_or_streams():
    with FakeAPI(sse_job(drops=2)) as api:
        c, sleeps = client(api)
        got = [(e.id, e.event) async for e in c.generations.events("job_1")]
        assert got == [
            ("1", "queued"),
            ("2", "started"),
            ("2.1", "progress"),
            ("2.2", "progress"),
            ("2.3", "progress"),
            ("3", "completed"),
        ]
        streams = api.requests("/api/v1/generations/job_1/events")
        assert [s.headers.get("last-event-id") for s in streams] == [None, "2", "2.2"]
        assert sleeps == [0.007, 0.007]
        await c.aclose()

    with FakeAPI(sse_job(drops=1)) as api:
        c, _ = client(api)
        done = await c.generate("a cat", "tiny-sd1", steps=4)
        assert done.status == "completed" and done.image_ids == ["img_1"]
        stream = await c.generate("a cat", "tiny-sd1", stream=True)
        assert stream.job.id == "job_1"
        assert [e.event async for e in stream][-1] == "completed"
        await c.aclose()
