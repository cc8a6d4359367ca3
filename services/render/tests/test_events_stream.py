"""Live progress: the SSE stream a browser watches, replayed after a reconnect."""

import asyncio

import pytest

from .conftest import parse_sse


async def _watch(render, job_id, headers, last_event_id=None):
    if last_event_id is not None:
        headers = {**headers, "Last-Event-ID": last_event_id}
    return await render.client.get(f"/api/v1/generations/{job_id}/events", headers=headers)


async def _live_run(render):
    tenant = await render.tenant()
    me = render.user(tenant)
    job = await render.queued(me)
    watching = asyncio.create_task(_watch(render, job["id"], me))
    await render.wait_for_subscriber(job["id"])
    await render.start(job["id"])
    for p in (0.25, 0.5):
        r = await render.internal(
            f"/jobs/{job['id']}/progress",
            {
                "attempt": 1,
                "progress": p,
                "image_index": 0,
                "preview": "data:image/webp;base64,AA==",
            },
        )
        assert r.json() == {"cancel": False}
        await asyncio.sleep(0.05)
    shown = (await render.get(f"/api/v1/generations/{job['id']}", me)).json()
    assert shown["progress"] == 0.5
    assert (await render.complete(job, tenant)).status_code == 200
    response = await asyncio.wait_for(watching, 10)
    return job, me, response


async def test_live_progress_and_replay(render):
    job, me, response = await _live_run(render)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [e for e in parse_sse(response.text) if "event" in e]
    kinds = [(e["id"], e["event"]) for e in events]
    assert kinds[0] == ("1", "queued") and kinds[1] == ("2", "started")
    progress = [e for e in events if e["event"] == "progress"]
    assert [e["data"]["progress"] for e in progress] == [0.25, 0.5]
    assert all(e["id"].startswith("2.") for e in progress)
    assert progress[0]["data"]["preview"].startswith("data:image/webp")
    assert kinds[-1] == ("3", "completed")  # and the stream ended there
    assert events[-1]["data"]["credits_used"] == 1 and events[-1]["data"]["image_ids"]

    # a reconnect replays what came after the last id it saw, then ends
    again = await _watch(render, job["id"], me, last_event_id=progress[0]["id"])
    assert [(e["id"], e["event"]) for e in parse_sse(again.text) if "event" in e] == [
        ("3", "completed")
    ]
    again = await _watch(render, job["id"], me, last_event_id="1")
    assert [e["event"] for e in parse_sse(again.text) if "event" in e] == ["started", "completed"]
    again = await _watch(render, job["id"], me, last_event_id="3")
    assert [e for e in parse_sse(again.text) if "event" in e] == []


async def test_the_stream_keeps_alive_and_ends_on_cancel(render_for, db_backend):
    async with render_for(db_backend, sse_keepalive_s=0.1) as render:
        tenant = await render.tenant()
        me = render.user(tenant)
        job = await render.queued(me)
        watching = asyncio.create_task(_watch(render, job["id"], me))
        await render.wait_for_subscriber(job["id"])
        await asyncio.sleep(0.35)
        await render.client.post(f"/api/v1/generations/{job['id']}/cancel", headers=me)
        events = parse_sse((await asyncio.wait_for(watching, 10)).text)
        assert {"comment": "keep-alive"} in events
        named = [e for e in events if "event" in e]
        assert [e["event"] for e in named] == ["queued", "cancelled"]
        assert named[-1]["data"] == {"job_id": job["id"], "stage": "queued"}


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
async def test_progress_through_redis(render_for, db_backend):
    """Two replicas' worth of hub: progress posted to one reaches streams through Redis."""
    async with render_for(db_backend, redis_url="redis://127.0.0.1:6379/0") as render:
        assert type(render.hub).__name__ == "RedisProgressHub"
        job, _me, response = await _live_run(render)
        progress = [e for e in parse_sse(response.text) if e.get("event") == "progress"]
        assert [e["data"]["progress"] for e in progress] == [0.25, 0.5]
