"""The sync client against a real HTTP server on 127.0.0.1 (fakeapi.py): retries,
Retry-After, idempotency keys, problem+json errors, pagination, SSE with reconnect."""

from __future__ import annotations

import email.utils
import time
import uuid

import pytest
from fakeapi import FakeAPI, Reply, Seen, image, job, pages, sse_job
from pingvas_client import APIConnectionError, APIError, Pingvas, models


def client(api: FakeAPI, **kw) -> tuple[Pingvas, list[float]]:
    """A client on the server whose back-off sleeps are recorded instead of slept."""
    c = Pingvas(api_key="pvk_abcdefgh_" + "x" * 32, base_url=api.url, **kw)
    sleeps: list[float] = []
    c._sleep = sleeps.append
    return c, sleeps


def test_posts_retry_5xx_and_429_with_one_idempotency_key_and_honour_retry_after():
    answers = [
        lambda r: r.problem(503, "unavailable", headers={"Retry-After": "2"}),
        lambda r: r.problem(429, "too_many_jobs"),  # no Retry-After: back-off
        lambda r: r.problem(502, "bad_gateway", headers={"Retry-After": "0.25"}),
        lambda r: r.json(202, job("job_9")),
    ]

    def handle(seen: Seen, reply: Reply) -> None:
        answers.pop(0)(reply) if seen.path == "/api/v1/generations" else reply.json(404)

    with FakeAPI(handle) as api:
        c, sleeps = client(api, backoff=0.1)
        created = c.generations.create(prompt="a cat", model="tiny-sd1", steps=4)
        assert isinstance(created, models.JobOut) and created.id == "job_9"
        tries = api.requests("/api/v1/generations")
        assert len(tries) == 4
        keys = {t.headers["idempotency-key"] for t in tries}
        assert len(keys) == 1 and uuid.UUID(keys.pop())
        assert all(t.headers["authorization"] == "Bearer pvk_abcdefgh_" + "x" * 32 for t in tries)
        assert tries[0].json == {"prompt": "a cat", "model": "tiny-sd1", "steps": 4}
        # Retry-After 2 s, then 0.1 * 2**1 (no header), then Retry-After 0.25 s
        assert sleeps == [2.0, 0.2, 0.25]

        # another logical call: another key
        answers.append(lambda r: r.json(202, job("job_10")))
        c.generations.create(prompt="a dog", model="tiny-sd1")
        assert (
            api.requests("/api/v1/generations")[-1].headers["idempotency-key"]
            != tries[0].headers["idempotency-key"]
        )


def test_retry_after_as_an_http_date():
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    answers = [lambda r: r.problem(429, "rate_limited", headers={"Retry-After": when})]

    def handle(seen: Seen, reply: Reply) -> None:
        (answers.pop(0) if answers else lambda r: r.json(200, job()))(reply)

    with FakeAPI(handle) as api:
        c, sleeps = client(api)
        assert c.generations.get("job_1").status == "queued"
        assert len(sleeps) == 1 and 25 <= sleeps[0] <= 30


def test_a_given_idempotency_key_is_sent_as_is():
    with FakeAPI(lambda s, r: r.json(202, job())) as api:
        c, _ = client(api)
        c.generations.create(prompt="a cat", model="tiny-sd1", idempotency_key="mine-1")
        assert api.seen[0].headers["idempotency-key"] == "mine-1"
        c.generations.get("job_1")
        assert "idempotency-key" not in api.seen[1].headers  # GETs need none


def test_problem_json_is_a_typed_error_and_4xx_is_not_retried():
    with FakeAPI(lambda s, r: r.problem(402, "credits_exhausted")) as api:
        c, sleeps = client(api)
        with pytest.raises(APIError) as caught:
            c.generations.create(prompt="a cat", model="tiny-sd1")
        error = caught.value
        assert (error.status, error.code) == (402, "credits_exhausted")
        assert error.title == "Title of credits_exhausted"
        assert error.detail == "Detail of credits_exhausted."
        assert len(api.seen) == 1 and sleeps == []


def test_gives_up_after_max_retries_with_the_last_problem():
    with FakeAPI(lambda s, r: r.problem(503, "unavailable")) as api:
        c, sleeps = client(api, max_retries=2, backoff=1)
        with pytest.raises(APIError) as caught:
            c.images.get("img_1")
        assert caught.value.status == 503 and caught.value.code == "unavailable"
        assert len(api.seen) == 3 and sleeps == [1, 2]


def test_a_dropped_connection_is_retried_with_the_same_key():
    calls = []

    def handle(seen: Seen, reply: Reply) -> None:
        calls.append(seen)
        if len(calls) == 1:
            reply.hang_up()  # no answer at all
        else:
            reply.json(202, job())

    with FakeAPI(handle) as api:
        c, sleeps = client(api)
        assert c.generations.create(prompt="a cat", model="tiny-sd1").id == "job_1"
        assert len(calls) == 2 and sleeps == [0.5]
        assert calls[0].headers["idempotency-key"] == calls[1].headers["idempotency-key"]


def test_no_server_is_a_connection_error():
    import socket

    with socket.socket() as held:  # bound, never listening: every connection is refused
        held.bind(("127.0.0.1", 0))
        c = Pingvas(api_key="pvk_x", base_url=f"http://127.0.0.1:{held.getsockname()[1]}")
        sleeps: list[float] = []
        c._sleep = sleeps.append
        with pytest.raises(APIConnectionError):
            c.generations.get("job_1")
        assert sleeps == [0.5, 1.0, 2.0]  # three retries, then the error


def test_images_generations_and_search_follow_next_cursor():
    imgs = [image(f"img_{i}") for i in range(7)]
    with FakeAPI(pages("/api/v1/images", imgs, 3)) as api:
        c, _ = client(api)
        got = list(c.images.list(limit=3))
        assert [i.id for i in got] == [f"img_{i}" for i in range(7)]
        assert all(isinstance(i, models.ImageOut) for i in got)
        assert [s.query.get("cursor") for s in api.seen] == [None, "3", "6"]
        assert all(s.query["limit"] == "3" for s in api.seen)

    jobs = [job(f"job_{i}", "completed") for i in range(5)]
    with FakeAPI(pages("/api/v1/generations", jobs, 2)) as api:
        c, _ = client(api)
        assert [j.id for j in c.generations.list()] == [f"job_{i}" for i in range(5)]
        assert len(api.seen) == 3

    hits = [
        image(f"img_{i}", highlight=[{"text": "cat", "match": True}], score=1.0) for i in range(4)
    ]
    with FakeAPI(pages("/api/v1/search/images", hits, 3)) as api:
        c, _ = client(api)
        found = c.search.images("cat", sort="relevance", limit=3)
        first = next(found)
        assert isinstance(first, models.ImageResult) and len(api.seen) == 1  # lazily
        assert [first.id] + [h.id for h in found] == [f"img_{i}" for i in range(4)]
        assert api.seen[0].query == {"q": "cat", "sort": "relevance", "limit": "3"}
        assert api.seen[1].query["cursor"] == "3"


def test_events_reconnect_with_last_event_id_and_miss_nothing():
    with FakeAPI(sse_job(drops=2)) as api:
        c, sleeps = client(api)
        got = list(c.generations.events("job_1"))
        assert [(e.id, e.event) for e in got] == [
            ("1", "queued"),
            ("2", "started"),
            ("2.1", "progress"),
            ("2.2", "progress"),
            ("2.3", "progress"),
            ("3", "completed"),
        ]
        assert got[-1].data == {"job_id": "job_1", "image_ids": ["img_1"]} and got[-1].terminal
        streams = api.requests("/api/v1/generations/job_1/events")
        assert [s.headers.get("last-event-id") for s in streams] == [None, "2", "2.2"]
        assert all(s.headers["accept"] == "text/event-stream" for s in streams)
        assert sleeps == [0.007, 0.007]  # the server's retry: 7 (ms)


def test_events_give_up_after_max_reconnects():
    def handle(seen: Seen, reply: Reply) -> None:
        reply.sse(["retry: 1", ""], drop=True)  # never an event

    with FakeAPI(handle) as api:
        c, _ = client(api)
        with pytest.raises(APIConnectionError):
            list(c.generations.events("job_1", max_reconnects=2))
        assert len(api.seen) == 3


def test_generate_waits_for_the_end_or_streams():
    with FakeAPI(sse_job(drops=1)) as api:
        c, _ = client(api)
        done = c.generate("a cat", "tiny-sd1", steps=4, width=64, height=64)
        assert done.status == "completed" and done.image_ids == ["img_1"]
        assert api.seen[0].json == {
            "prompt": "a cat",
            "model": "tiny-sd1",
            "steps": 4,
            "width": 64,
            "height": 64,
        }
        assert api.seen[-1].path == "/api/v1/generations/job_1"

    with FakeAPI(sse_job(drops=1)) as api:
        c, _ = client(api)
        stream = c.generate("a cat", "tiny-sd1", stream=True)
        assert stream.job.id == "job_1"
        names = [e.event for e in stream]
        assert names[0] == "queued" and names[-1] == "completed" and names.count("progress") == 3


def test_the_request_is_checked_against_the_generated_model_before_sending():
    from pydantic import ValidationError

    with FakeAPI(lambda s, r: r.json(202, job())) as api:
        c, _ = client(api)
        with pytest.raises(ValidationError):
            c.generations.create(prompt="a cat", model="tiny-sd1", steps=-1)
        with pytest.raises(ValidationError):
            c.generations.create(prompt="a cat", model="tiny-sd1", no_such_field=1)
        assert api.seen == []
