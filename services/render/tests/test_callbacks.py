"""Per-request webhooks (`webhook` on POST /api/v1/generations): the URL is checked like an
endpoint's, stored with the job, shown by GET, and carried by the job's events so tenants
can deliver them; progress goes out at most once per interval."""

import secrets

import pytest
from pingvas_render.adapters.db import jobs

from pingvas_kit.problems import PROBLEM_JSON

HOOK = "http://127.0.0.1:9/callback"


async def test_the_webhook_rides_along_with_the_jobs_events(render_for):
    async with render_for(
        {"webhook_allow_private": True, "callback_progress_every_s": 3600}
    ) as render:
        tenant = await render.tenant()
        me = render.user(tenant)
        job = await render.queued(me, webhook=HOOK, webhook_events_filter=["progress", "completed"])
        assert job["webhook"] == HOOK and job["webhook_events_filter"] == ["completed", "progress"]
        shown = (await render.get(f"/api/v1/generations/{job['id']}", me)).json()
        assert shown["webhook"] == HOOK

        assert (await render.start(job["id"])).status_code == 200
        progress = {"attempt": 1, "progress": 0.25, "image_index": 0, "preview": None}
        for value in (0.25, 0.5, 0.75):  # only the first goes out within the interval
            await render.internal(f"/jobs/{job['id']}/progress", {**progress, "progress": value})
        assert (await render.complete(job, tenant)).status_code == 200

        callback = {"url": HOOK, "events": ["completed", "progress"]}
        (started,) = await render.events("job.started")
        assert started["data"]["callback"] == callback
        (progressed,) = await render.events("job.progressed")
        assert progressed["data"]["progress"] == 0.25 and progressed["data"]["callback"] == callback
        (completed,) = await render.events("job.completed")
        assert completed["data"]["callback"] == callback

        # a job without a webhook carries none and publishes no progress
        plain = await render.queued(me)
        assert plain["webhook"] is None
        await render.start(plain["id"])
        await render.internal(f"/jobs/{plain['id']}/progress", progress)
        assert len(await render.events("job.progressed")) == 1
        assert [e["data"]["callback"] for e in await render.events("job.started")][1] is None


async def test_a_filter_without_a_webhook_is_refused(render):
    tenant = await render.tenant()
    r = await render.generate(render.user(tenant), webhook_events_filter=["completed"])
    assert r.status_code == 422 and r.json()["code"] == "webhook_missing"
    assert r.json()["errors"][0]["field"] == "webhook"
    assert await render.count(jobs) == 0


PRODUCTION = {
    "environment": "production",
    "internal_secret": secrets.token_urlsafe(40),
    "worker_token": secrets.token_urlsafe(40),
    "export_token": secrets.token_urlsafe(40),
}


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://127.0.0.1/callback", "webhook_url_forbidden"),
        ("https://10.0.0.1/callback", "webhook_url_forbidden"),
        ("https://169.254.169.254/latest/", "webhook_url_forbidden"),
        ("https://[::1]/callback", "webhook_url_forbidden"),
        ("https://localhost/callback", "webhook_url_forbidden"),
        ("http://example.com/callback", "webhook_url_insecure"),
    ],
)
async def test_production_refuses_private_and_plain_http_callbacks(render_for, url, code):
    async with render_for(PRODUCTION) as render:
        tenant = await render.tenant()
        r = await render.generate(render.user(tenant), webhook=url)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith(PROBLEM_JSON)
        assert r.json()["code"] == code and r.json()["errors"][0]["field"] == "webhook"
        assert await render.count(jobs) == 0
