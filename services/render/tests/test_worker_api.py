"""The internal API as the GPU workers drive it: every transition once, credits exact."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pingvas_render.adapters.db import images, jobs, workers

from pingvas_kit.problems import PROBLEM_JSON


async def test_a_job_runs_and_completes_once(render):
    tenant = await render.tenant()
    me = render.user(tenant)
    job = await render.queued(me, num_images=2)
    r = await render.start(job["id"])
    assert r.status_code == 200, r.text
    started = r.json()
    assert started["proceed"] is True and started["attempt"] == 1
    item = started["job"]
    assert item["tenant_id"] == tenant and item["model"]["key"] == "tiny-sd1"
    assert item["request"]["seed"] == job["seed"] and len(item["image_ids"]) == 2
    shown = (await render.get(f"/api/v1/generations/{job['id']}", me)).json()
    assert shown["status"] == "running" and shown["queue_position"] is None

    first = await render.complete(job, tenant)
    again = await render.complete(job, tenant)  # the worker retried: nothing more happens
    assert first.status_code == again.status_code == 200, (first.text, again.text)

    done = (await render.get(f"/api/v1/generations/{job['id']}", me)).json()
    assert done["status"] == "completed" and done["credits_used"] == 2
    assert done["image_ids"] == item["image_ids"] and done["progress"] == 1.0
    assert await render.count(images, job_id=job["id"]) == 2
    assert await render.balance(tenant) == {"available": 48, "reserved": 0}
    (completed,) = await render.events("job.completed")
    assert completed["data"]["credits_used"] == 2 and completed["data"]["credits_reserved"] == 2
    created = await render.events("image.created")
    assert sorted(e["data"]["image_id"] for e in created) == sorted(item["image_ids"])
    assert len(await render.events("job.started")) == 1
    # and the image is in the gallery, with URLs that work
    gallery = (await render.get("/api/v1/images", me)).json()["items"]
    assert {i["id"] for i in gallery} == set(item["image_ids"])
    async with httpx.AsyncClient() as browser:
        png = await browser.get(gallery[0]["url"])
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
        assert (await browser.get(gallery[0]["thumbnail_url"])).status_code == 200


async def test_fewer_images_than_asked_are_charged_per_image(render):
    tenant = await render.tenant()
    job = await render.queued(render.user(tenant), num_images=2)
    await render.start(job["id"])
    assert (await render.complete(job, tenant, images=1)).status_code == 200
    assert await render.balance(tenant) == {"available": 49, "reserved": 0}


async def test_complete_rejects_images_of_another_job_or_tenant(render):
    tenant = await render.tenant()
    job = await render.queued(render.user(tenant))
    await render.start(job["id"])
    foreign = await render.upload(
        await render.tenant(), (await render.work_item(job["id"]))["image_ids"][0]
    )
    r = await render.internal(
        f"/jobs/{job['id']}/complete",
        {"worker_id": "gpu-1", "attempt": 1, "images": [{**foreign, "index": 0, "seed": 1}]},
    )
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM_JSON)
    assert await render.count(images) == 0


async def test_fail_requeues_then_fails_for_good_and_releases(render):
    tenant = await render.tenant()
    me = render.user(tenant)
    job = await render.queued(me, num_images=2)
    for attempt in (1, 2):
        r = await render.start(job["id"], worker_id=f"gpu-{attempt}")
        assert r.json()["attempt"] == attempt
        failure = {
            "worker_id": f"gpu-{attempt}",
            "attempt": attempt,
            "error_code": "internal",
            "reason": "The engine stopped while rendering.",
            "retryable": True,
        }
        r = await render.internal(f"/jobs/{job['id']}/fail", failure)
        assert r.json() == {"requeued": True}
        shown = (await render.get(f"/api/v1/generations/{job['id']}", me)).json()
        assert shown["status"] == "queued" and shown["attempts"] == attempt
        assert await render.balance(tenant) == {"available": 48, "reserved": 2}
    await render.start(job["id"], worker_id="gpu-3")
    r = await render.internal(
        f"/jobs/{job['id']}/fail",
        {
            "worker_id": "gpu-3",
            "attempt": 3,
            "error_code": "out_of_memory",
            "reason": "The GPU ran out of memory.",
            "retryable": True,
        },
    )
    assert r.json() == {"requeued": False}  # out of attempts
    shown = (await render.get(f"/api/v1/generations/{job['id']}", me)).json()
    assert shown["status"] == "failed"
    assert shown["error"] == {"code": "out_of_memory", "reason": "The GPU ran out of memory."}
    assert await render.balance(tenant) == {"available": 50, "reserved": 0}
    (failed,) = await render.events("job.failed")
    assert failed["data"]["credits_released"] == 2 and failed["data"]["attempts"] == 3
    # a late report changes nothing
    r = await render.internal(f"/jobs/{job['id']}/fail", {**failure, "attempt": 3})
    assert r.json() == {"requeued": False} and len(await render.events("job.failed")) == 1


async def test_a_final_failure_fails_at_once(render):
    tenant = await render.tenant()
    job = await render.queued(render.user(tenant))
    await render.start(job["id"])
    r = await render.internal(
        f"/jobs/{job['id']}/fail",
        {
            "worker_id": "gpu-1",
            "attempt": 1,
            "error_code": "content_blocked",
            "reason": "The prompt was refused.",
            "retryable": False,
        },
    )
    assert r.json() == {"requeued": False}
    assert await render.balance(tenant) == {"available": 50, "reserved": 0}


async def test_start_past_max_attempts_fails_the_job(render):
    tenant = await render.tenant()
    job = await render.queued(render.user(tenant))
    await render.execute(jobs.update().where(jobs.c.id == job["id"]).values(attempts=3))
    r = await render.start(job["id"])
    assert r.status_code == 409 and r.json()["proceed"] is False
    assert r.json()["reason"] == "out_of_attempts"
    (failed,) = await render.events("job.failed")
    assert failed["data"]["error_code"] == "worker_lost"
    assert await render.balance(tenant) == {"available": 50, "reserved": 0}


async def test_a_lost_worker_is_taken_over_and_a_live_one_is_not(render):
    tenant = await render.tenant()
    job = await render.queued(render.user(tenant))
    await render.start(job["id"], worker_id="gpu-1")
    # a duplicate message while gpu-1 is alive and beating
    r = await render.internal(
        f"/jobs/{job['id']}/start", {"worker_id": "gpu-2", "receive_count": 1}
    )
    assert r.status_code == 409 and r.json()["reason"] == "running_elsewhere"
    # gpu-1 goes silent; its message comes back to gpu-2
    stale = datetime.now(UTC) - timedelta(seconds=30)
    await render.execute(jobs.update().where(jobs.c.id == job["id"]).values(heartbeat_at=stale))
    r = await render.internal(
        f"/jobs/{job['id']}/start", {"worker_id": "gpu-2", "receive_count": 2}
    )
    assert r.status_code == 200 and r.json()["attempt"] == 2
    # gpu-1 hears it should stop; its late outcome does not count
    beat = await render.internal("/heartbeat", {"worker_id": "gpu-1", "job_ids": [job["id"]]})
    assert beat.json() == {"cancel": [job["id"]]}
    beat = await render.internal("/heartbeat", {"worker_id": "gpu-2", "job_ids": [job["id"]]})
    assert beat.json() == {"cancel": []}


async def test_a_heartbeat_records_the_workers_capacity_and_a_bad_one_changes_nothing(render):
    async def recorded():
        async with render.db.sessionmaker() as session:
            return (await session.execute(workers.select())).all()

    # an idle batched worker beats too: no jobs in hand, its rows free
    beat = await render.internal("/heartbeat", {"worker_id": "gpu-1", "job_ids": [], "capacity": 8})
    assert beat.status_code == 200 and beat.json() == {"cancel": []}
    [(worker_id, capacity, seen_at)] = await recorded()
    assert (worker_id, capacity) == ("gpu-1", 8) and seen_at is not None

    r = await render.internal("/heartbeat", {"worker_id": "gpu-1", "job_ids": [], "capacity": -1})
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM_JSON)
    assert await recorded() == [(worker_id, capacity, seen_at)]

    # a worker that does not say (older ones) counts no rows; the same worker updates its row
    await render.internal("/heartbeat", {"worker_id": "gpu-2", "job_ids": []})
    await render.internal("/heartbeat", {"worker_id": "gpu-1", "job_ids": [], "capacity": 16})
    rows = {r.worker_id: r.capacity for r in await recorded()}
    assert rows == {"gpu-1": 16, "gpu-2": 0}


async def test_the_workers_client_sends_its_capacity_with_every_heartbeat():
    from aiohttp import web
    from aiohttp.test_utils import TestServer
    from pingvas_render.api.schemas import HeartbeatIn
    from pingvas_render.worker.render_api import RenderApi

    bodies = []

    async def heartbeat(request):
        bodies.append(await request.json())
        return web.json_response({"cancel": []})

    app = web.Application()
    app.router.add_post("/internal/v1/heartbeat", heartbeat)
    async with TestServer(app) as server, RenderApi(str(server.make_url("")), "t") as api:
        assert await api.heartbeat(worker_id="gpu-1", job_ids=[], capacity=8) == []
        assert await api.heartbeat(worker_id="gpu-1", job_ids=["j1"]) == []
    beats = [HeartbeatIn.model_validate(body) for body in bodies]
    assert [(b.job_ids, b.capacity) for b in beats] == [([], 8), (["j1"], 0)]


async def test_cancel_a_running_job(render):
    tenant = await render.tenant()
    me = render.user(tenant)
    job = await render.queued(me)
    await render.start(job["id"])
    r = await render.client.post(f"/api/v1/generations/{job['id']}/cancel", headers=me)
    assert r.status_code == 202 and r.json()["status"] == "running"
    assert r.json()["cancel_requested"] is True
    assert await render.balance(tenant) == {"available": 49, "reserved": 1}
    # the worker learns it from progress and heartbeat, stops the engine, confirms
    progress = {"attempt": 1, "progress": 0.5, "image_index": 0, "preview": None}
    assert (await render.internal(f"/jobs/{job['id']}/progress", progress)).json() == {
        "cancel": True
    }
    beat = await render.internal("/heartbeat", {"worker_id": "gpu-1", "job_ids": [job["id"]]})
    assert beat.json() == {"cancel": [job["id"]]}
    r = await render.internal(f"/jobs/{job['id']}/cancelled", {"worker_id": "gpu-1", "attempt": 1})
    assert r.status_code == 200
    assert (await render.get(f"/api/v1/generations/{job['id']}", me)).json()[
        "status"
    ] == "cancelled"
    assert await render.balance(tenant) == {"available": 50, "reserved": 0}
    (event,) = await render.events("job.cancelled")
    assert event["data"]["stage"] == "running" and event["data"]["credits_released"] == 1
    # finishing anyway is refused: the worker deletes what it uploaded
    assert (await render.complete(job, tenant)).status_code == 409
    assert await render.count(images) == 0


async def test_a_stop_nobody_asked_for_does_not_cancel_the_job(render):
    """A worker whose start call was still being retried (render down) heard "stop" for
    it and reported it cancelled: the job is not the person's to lose; it goes on."""
    tenant = await render.tenant()
    me = render.user(tenant)
    job = await render.queued(me)
    # render does not know it as gpu-1's yet: a heartbeat naming it answers "stop"
    beat = await render.internal("/heartbeat", {"worker_id": "gpu-1", "job_ids": [job["id"]]})
    assert beat.json() == {"cancel": [job["id"]]}
    r = await render.internal(f"/jobs/{job['id']}/cancelled", {"worker_id": "gpu-1", "attempt": 1})
    assert r.status_code == 200
    assert (await render.get(f"/api/v1/generations/{job['id']}", me)).json()["status"] != (
        "cancelled"
    )
    assert await render.events("job.cancelled") == []
    # it still runs and completes, charged once
    await render.start(job["id"])
    assert (await render.complete(job, tenant)).status_code == 200
    assert (await render.get(f"/api/v1/generations/{job['id']}", me)).json()[
        "status"
    ] == "completed"


async def test_a_job_cancelled_while_it_finished_is_not_charged(render):
    tenant = await render.tenant()
    me = render.user(tenant)
    job = await render.queued(me)
    await render.start(job["id"])
    await render.client.post(f"/api/v1/generations/{job['id']}/cancel", headers=me)
    r = await render.complete(job, tenant)
    assert r.status_code == 409 and r.json()["reason"] == "cancelled"
    assert await render.balance(tenant) == {"available": 50, "reserved": 0}
    assert await render.events("job.completed") == []


@pytest.mark.parametrize("db_backend", ["sqlite", "postgres"], indirect=True)
async def test_the_sweeper_fails_silent_jobs_out_of_attempts(render_for, db_backend):
    async with render_for(db_backend, lease_timeout_s=1) as render:
        tenant = await render.tenant()
        job = await render.queued(render.user(tenant))
        await render.execute(jobs.update().where(jobs.c.id == job["id"]).values(attempts=2))
        await render.start(job["id"])  # the last attempt, then the worker goes silent
        stale = datetime.now(UTC) - timedelta(seconds=5)
        await render.execute(jobs.update().where(jobs.c.id == job["id"]).values(heartbeat_at=stale))
        for _ in range(100):
            if await render.events("job.failed"):
                break
            await asyncio.sleep(0.05)
        (failed,) = await render.events("job.failed")
        assert failed["data"]["error_code"] == "worker_lost"
        assert await render.balance(tenant) == {"available": 50, "reserved": 0}


async def test_the_internal_api_needs_the_worker_token(render):
    tenant = await render.tenant()
    job = await render.queued(render.user(tenant))
    for headers in ({}, {"Authorization": "Bearer nope"}, render.user(tenant)):
        r = await render.client.post(
            f"/internal/v1/jobs/{job['id']}/start",
            json={"worker_id": "gpu-1", "receive_count": 1},
            headers=headers,
        )
        assert r.status_code == 401 and r.headers["content-type"].startswith(PROBLEM_JSON)


def test_the_worker_derives_the_same_token():
    from pingvas_render.settings import Settings
    from pingvas_render.worker.settings import WorkerSettings

    assert Settings().worker_token_value() == WorkerSettings().worker_token_value()
    assert Settings(worker_token="s3cret").worker_token_value() == "s3cret"


async def test_the_dispatcher_hands_queued_jobs_to_the_work_queue(render_for, db_backend):
    async with render_for(db_backend, dispatcher_enabled=True) as render:
        tenant = await render.tenant()
        job = await render.queued(render.user(tenant))
        for _ in range(200):
            async with render.db.sessionmaker() as session:
                status = await session.scalar(
                    jobs.select().with_only_columns(jobs.c.status).where(jobs.c.id == job["id"])
                )
            if status == "dispatched":
                break
            await asyncio.sleep(0.05)
        assert status == "dispatched"
        shown = (await render.get(f"/api/v1/generations/{job['id']}", render.user(tenant))).json()
        assert shown["status"] == "queued" and shown["queue_position"] == 0
        r = await render.internal(
            f"/jobs/{job['id']}/start", {"worker_id": "gpu-1", "receive_count": 1}
        )
        assert r.status_code == 200 and r.json()["attempt"] == 1
