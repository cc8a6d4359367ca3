"""A generation through the whole local stack, for real (issue 4, "Must show").

`pingvas-dev up --only gateway,tenants,render` as a subprocess: moto's server, the gateway,
the tenants and render services, and render's GPU worker with its batched engine (the
default, `RENDER_WORKER_ENGINE=auto`) on the CPU and the tiny random-weight SD-1 model. Everything is driven through the gateway
with a user's bearer token, as a partner or the SPA would:

- a request -> SSE progress -> a valid PNG of the requested size in S3 -> events on the bus,
  credits charged once, and another tenant sees none of it (404);
- the worker (and its engine) SIGKILLed mid-batch: after the restart every job of the
  batch completes exactly once (one image set, one charge, one job.completed event);
- cancel while denoising: the engine item stops and the reservation is released.

SLOW: about 2-3 minutes, most of it the engine starting (twice)."""

from __future__ import annotations

import io
import json
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from PIL import Image
from pingvas_render.engine.testing import ensure_tiny_model
from pingvas_render.worker.images import read_metadata

from pingvas_kit.dev.stack import REPO, Stack, Team, running_stack

pytestmark = [pytest.mark.timeout(600)]

MODELS = REPO / "var" / "models"
SMALL = {"model": "tiny-sd1", "width": 64, "height": 64, "steps": 4, "cfg_scale": 7.5}
#: long enough on two CPU cores to act on it mid-denoise
LONG = {"model": "tiny-sd1", "width": 256, "height": 256, "steps": 50, "cfg_scale": 7.5}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    ensure_tiny_model(MODELS)
    with running_stack(
        tmp_path_factory.mktemp("render-e2e"),
        ["--only", "gateway,tenants,render", "--startup-timeout", "180"],
        {
            "PINGVAS_MODELS_DIR": str(MODELS),
            # a lost worker's job reappears quickly
            "RENDER_WORKER_VISIBILITY_TIMEOUT_S": "6",
            "RENDER_WORKER_HEARTBEAT_INTERVAL_S": "2",
        },
        services=("render-worker",),
    ) as stack:
        yield stack


def _bus_events(stack: Stack, consumer: str) -> list[dict[str, Any]]:
    """Every event waiting in a consumer's queue (not running in this stack), read and left."""
    state = json.loads((stack.var / "run" / "pingvas-dev.json").read_text())
    sqs = boto3.client(
        "sqs",
        endpoint_url=state["aws_endpoint_url"],
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    url = sqs.get_queue_url(QueueName=f"pingvas-{consumer}")["QueueUrl"]
    found: list[dict[str, Any]] = []
    for _ in range(10):
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=60
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            body = json.loads(message["Body"])
            found.append(json.loads(body["Message"]) if "Message" in body else body)
    return found


def _job(team: Team, job_id: str) -> dict[str, Any]:
    return team.http.get(f"/generations/{job_id}").json()


def test_a_generation_through_the_gateway_to_s3_and_the_bus(stack: Stack) -> None:
    team = Team(stack, "alpha")
    models = team.wait_for(lambda: team.http.get("/models"), "models").json()["items"]
    assert "tiny-sd1" in {m["key"] for m in models}
    before = team.entitlements()

    job = team.generate("고양이가 소파 위에서 자는 사진, a cat asleep", seed=1234, **SMALL)
    assert job["status"] == "queued" and job["seed"] == 1234
    events = team.events(job["id"])
    kinds = [kind for _id, kind, _data in events]
    assert kinds[0] == "queued" and "started" in kinds and kinds[-1] == "completed", kinds
    progress = [data["progress"] for _id, kind, data in events if kind == "progress"]
    assert progress and all(0 <= p <= 1 for p in progress) and progress == sorted(progress)
    completed = events[-1][2]
    assert len(completed["image_ids"]) == 1

    image = team.http.get(f"/images/{completed['image_ids'][0]}").json()
    assert (image["width"], image["height"], image["seed"]) == (64, 64, 1234)
    png = httpx.get(image["url"], timeout=10)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png.content)) as picture:
        assert picture.size == (64, 64)
    assert read_metadata(png.content)["prompt"].startswith("고양이가")
    thumb = httpx.get(image["thumbnail_url"], timeout=10)
    assert thumb.status_code == 200 and thumb.content[8:12] == b"WEBP"

    after = team.entitlements()
    used = _job(team, job["id"])["credits_used"]
    assert used >= 1
    assert after["credits_available"] == before["credits_available"] - used
    assert after["credits_reserved"] == 0

    # the rest of the product hears of it through the bus
    billing = [e for e in _bus_events(stack, "billing") if e["data"].get("job_id") == job["id"]]
    assert [e["type"] for e in billing].count("pingvas.render.job.completed.v1") == 1
    search = [e for e in _bus_events(stack, "search") if e["type"].endswith("image.created.v1")]
    assert completed["image_ids"][0] in {e["data"]["image_id"] for e in search}

    # what Prometheus scrapes (docs/monitoring.md): the gateway labels the job's route by
    # its template, never its id; the worker timed the job and its row
    gateway_metrics = httpx.get(stack.url + "/metrics", timeout=10).text
    assert 'route="/api/v1/generations/{job_id}"' in gateway_metrics
    assert job["id"] not in gateway_metrics
    worker_url = stack.service_url("render-worker")
    assert worker_url
    worker_metrics = httpx.get(worker_url + "/metrics", timeout=10).text
    assert 'pingvas_render_job_seconds_count{outcome="completed"}' in worker_metrics
    assert "pingvas_render_row_seconds_count" in worker_metrics
    assert "pingvas_render_engine_batch_occupancy_ratio" in worker_metrics

    # another tenant sees none of it
    other = Team(stack, "beta")
    other.entitlements()
    for path in (
        f"/generations/{job['id']}",
        f"/generations/{job['id']}/events",
        f"/images/{completed['image_ids'][0]}",
    ):
        assert other.http.get(path).status_code == 404, path


def test_a_worker_killed_mid_batch_completes_every_job_of_the_batch_exactly_once(
    stack: Stack,
) -> None:
    """Three teams' jobs denoise side by side in the worker's batched engine when the
    worker (and its engine) is SIGKILLed: after the restart each job completes exactly
    once (one image set, one charge, one job.completed event)."""
    teams = [Team(stack, name) for name in ("gamma", "gamma-two", "gamma-three")]
    before = [team.entitlements() for team in teams]
    jobs = [
        team.generate(f"a lighthouse in a storm, take {i}", seed=7 + i, **LONG)
        for i, team in enumerate(teams)
    ]
    # every job of the batch is denoising
    seen = [
        team.events(job["id"], stop_after_progress=True)
        for team, job in zip(teams, jobs, strict=True)
    ]
    assert all(s[-1][1] == "progress" for s in seen)

    # SIGKILL the worker's whole process group (the worker and its engine), mid-denoise
    state = json.loads((stack.var / "run" / "pingvas-dev.json").read_text())
    worker_pid = state["services"]["render-worker"]["pid"]
    os.killpg(worker_pid, signal.SIGKILL)

    # pingvas-dev restarts the worker; the jobs' messages reappear and run again
    billing = None
    for team, job, was, prior in zip(teams, jobs, seen, before, strict=True):
        events = team.events(job["id"], last_event_id=was[-1][0].split(".")[0])
        assert events[-1][1] == "completed", events[-3:]
        final = _job(team, job["id"])
        assert final["status"] == "completed" and final["attempts"] == 2
        assert len(final["image_ids"]) == 1

        after = team.entitlements()
        assert after["credits_available"] == prior["credits_available"] - final["credits_used"]
        assert after["credits_reserved"] == 0
        billing = billing if billing is not None else _bus_events(stack, "billing")
        completions = [
            e
            for e in billing
            if e["type"] == "pingvas.render.job.completed.v1" and e["data"]["job_id"] == job["id"]
        ]
        assert len(completions) == 1
        images = team.http.get("/images", params={"limit": 50}).json()["items"]
        assert [i["id"] for i in images if i["job_id"] == job["id"]] == final["image_ids"]
    log = (stack.var / "log" / "render-worker.log").read_text(errors="replace")
    assert "engine.batched_started" in log


def test_cancel_mid_denoise_stops_the_engine_item_and_releases_the_credits(stack: Stack) -> None:
    team = Team(stack, "delta")
    before = team.entitlements()
    job = team.generate("a slow sunrise over the sea", seed=99, **LONG)
    seen = team.events(job["id"], stop_after_progress=True)
    asked = time.monotonic()
    response = team.http.post(f"/generations/{job['id']}/cancel")
    assert response.status_code == 202, response.text

    events = team.events(job["id"], last_event_id=seen[-1][0].split(".")[0])
    assert events[-1][1] == "cancelled", events[-3:]
    # the worker confirms only once its engine reported the item cancelled
    assert events[-1][2]["stage"] == "running"
    assert time.monotonic() - asked < 30
    final = _job(team, job["id"])
    assert final["status"] == "cancelled" and final["credits_used"] in (None, 0)
    after = team.entitlements()
    assert after["credits_available"] == before["credits_available"]
    assert after["credits_reserved"] == 0
    images = team.http.get("/images", params={"limit": 50}).json()["items"]
    assert not [i for i in images if i["job_id"] == job["id"]]


def test_sigterm_lets_the_worker_finish_its_job_before_it_exits(stack: Stack) -> None:
    team = Team(stack, "epsilon")
    job = team.generate("a quiet harbour at dawn", seed=5, **LONG)
    seen = team.events(job["id"], stop_after_progress=True)

    # SIGTERM to the worker alone (as the kubelet does on a rolling update), mid-denoise
    state = json.loads((stack.var / "run" / "pingvas-dev.json").read_text())
    os.kill(state["services"]["render-worker"]["pid"], signal.SIGTERM)

    events = team.events(job["id"], last_event_id=seen[-1][0].split(".")[0])
    assert events[-1][1] == "completed", events[-3:]
    final = _job(team, job["id"])
    assert final["status"] == "completed" and final["attempts"] == 1, final
    # the worker went on to finish it, then left (pingvas-dev starts a new one)
    log_file = stack.var / "log" / "render-worker.log"
    stack.wait(lambda: "worker.stopped" in log_file.read_text(errors="replace"), 60, "exit")
    log = log_file.read_text(errors="replace")
    completed = log.index(f"job_id={job['id']}", log.index("worker.job_completed"))
    assert "worker.stopping" in log
    assert completed < log.rindex("worker.stopped")
