"""The public generations API: what a person or a partner sees when they ask for images."""

import sqlalchemy as sa
from pingvas_render.adapters.db import entitlements, job_events, jobs

from pingvas_kit.problems import PROBLEM_JSON

from .conftest import TINY


async def test_queue_a_generation(render):
    tenant = await render.tenant()
    me = render.user(tenant)
    r = await render.generate(me, num_images=2)
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] == "queued" and job["queue_position"] == 0
    assert job["credits_reserved"] == 2 and job["credits_used"] is None
    assert job["image_ids"] == [] and job["progress"] == 0.0 and job["attempts"] == 0
    # the defaults are filled in and the seed is concrete, in the job and the event
    assert job["request"]["cfg_scale"] == 7.5 and job["request"]["scheduler"] == "euler"
    assert job["seed"] == job["request"]["seed"] is not None
    assert await render.balance(tenant) == {"available": 48, "reserved": 2}

    (event,) = await render.events("job.queued")
    assert event["tenantid"] == tenant and event["data"]["job_id"] == job["id"]
    assert event["data"]["credits_reserved"] == 2
    assert event["data"]["request"]["seed"] == job["seed"]
    async with render.db.sessionmaker() as session:
        row = (await session.execute(sa.select(jobs).where(jobs.c.id == job["id"]))).one()
        stream = (await session.execute(sa.select(job_events))).all()
    assert len(row.image_ids) == 2 and row.event_seq == 1
    assert [(e.seq, e.type) for e in stream] == [(1, "queued")]

    assert (await render.get(f"/api/v1/generations/{job['id']}", me)).json()["id"] == job["id"]
    # a fixed seed is kept
    again = await render.queued(me, seed=42)
    assert again["seed"] == 42


async def test_invalid_requests_are_422_and_create_nothing(render):
    tenant = await render.tenant()
    me = render.user(tenant)
    for body in (
        {"prompt": ""},
        {"prompt": "x" * 2001},
        {"width": 60},
        {"width": 1024},  # above the tiny model's 256
        {"steps": 51},  # above the model's max_steps
        {"cfg_scale": 31},
        {"num_images": 3},  # the Free plan allows 2
        {"model": "no-such-model"},
        {"model": "sdxl-base-1.0"},  # not on the Free plan
        {"scheduler": "not-a-scheduler"},
    ):
        r = await render.generate(me, **body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith(PROBLEM_JSON)
        assert r.json()["errors"], body
    assert await render.count(jobs) == 0
    assert await render.events() == []
    assert await render.balance(tenant) == {"available": 50, "reserved": 0}


async def test_who_may_generate(render):
    tenant = await render.tenant()
    r = await render.generate(render.user(tenant, verified=False))
    assert r.status_code == 403 and r.json()["type"].endswith("/email-not-verified")
    assert (await render.generate(render.user(tenant, role="viewer"))).status_code == 403
    reader = render.key(tenant, ["generations:read"])
    assert (await render.generate(reader)).status_code == 403
    # a key made by someone who has not verified their address: the same rule as for people
    r = await render.generate(render.key(tenant, ["generations:write"], verified=False))
    assert r.status_code == 403 and r.json()["type"].endswith("/email-not-verified")
    assert await render.count(jobs) == 0
    writer = render.key(tenant, ["generations:write"])
    job = await render.queued(writer)
    (event,) = await render.events("job.queued")
    assert event["data"]["api_key_id"] and event["data"]["user_id"] is None
    # reading needs generations:read
    assert (await render.get(f"/api/v1/generations/{job['id']}", writer)).status_code == 403
    assert (await render.get(f"/api/v1/generations/{job['id']}", reader)).status_code == 200
    # and nothing without the gateway's identity
    r = await render.client.post("/api/v1/generations", json=TINY)
    assert r.status_code == 401 and r.headers["content-type"].startswith(PROBLEM_JSON)
    assert (await render.client.get(f"/api/v1/generations/{job['id']}")).status_code == 401


async def test_idempotency_key(render):
    tenant = await render.tenant()
    me = render.user(tenant)
    first = await render.generate(me, idempotency_key="order-7")
    assert first.status_code == 202
    again = await render.generate(me, idempotency_key="order-7")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = await render.generate(me, idempotency_key="order-7", prompt="something else")
    assert other.status_code == 409 and other.headers["content-type"].startswith(PROBLEM_JSON)
    # keys are per tenant
    elsewhere = await render.tenant()
    r = await render.generate(render.user(elsewhere), idempotency_key="order-7")
    assert r.status_code == 202 and r.json()["id"] != first.json()["id"]
    assert await render.count(jobs, tenant_id=tenant) == 1
    assert await render.balance(tenant) == {"available": 49, "reserved": 1}


async def test_out_of_credits_is_402_and_quotes_the_credits_available_not_the_balance(render):
    tenant = await render.tenant(credits=3)
    me = render.user(tenant)
    await render.queued(me, num_images=2)  # holds 2 of the 3
    r = await render.generate(me, num_images=2)
    assert r.status_code == 402, r.text
    problem = r.json()
    assert problem["code"] == "out-of-credits" and problem["type"].endswith("/out-of-credits")
    assert problem["credits_needed"] == 2 and problem["credits_available"] == 1
    assert "1 available" in problem["detail"] and "3" not in problem["detail"]
    assert await render.count(jobs, tenant_id=tenant) == 1
    await render.queued(me)  # the last credit still buys one image
    assert await render.balance(tenant) == {"available": 0, "reserved": 3}


async def test_too_many_unfinished_jobs_is_429(render):
    tenant = await render.tenant(max_concurrent_jobs=1)  # 10 unfinished at most
    me = render.user(tenant)
    for _ in range(10):
        await render.queued(me)
    r = await render.generate(me)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert r.headers["content-type"].startswith(PROBLEM_JSON)
    assert await render.balance(tenant) == {"available": 40, "reserved": 10}


async def test_list_newest_first_with_a_cursor(render):
    tenant = await render.tenant()
    me = render.user(tenant)
    ids = [(await render.queued(me, prompt=f"prompt {i}"))["id"] for i in range(5)]
    await render.queued(render.user(await render.tenant()))  # someone else's
    page = (await render.get("/api/v1/generations", me, limit=2)).json()
    seen = [j["id"] for j in page["items"]]
    while page["next_cursor"]:
        page = (
            await render.get("/api/v1/generations", me, limit=2, cursor=page["next_cursor"])
        ).json()
        seen += [j["id"] for j in page["items"]]
    assert seen == ids[::-1]
    # positions follow the dispatcher's fair order: the other tenant's one job goes second
    items = (await render.get("/api/v1/generations", me)).json()["items"]
    positions = {j["id"]: j["queue_position"] for j in items}
    assert [positions[i] for i in ids] == [0, 2, 3, 4, 5]
    assert (await render.get("/api/v1/generations", me, cursor="garbage!")).status_code == 422


async def test_cancel_a_queued_job_releases_its_credits(render):
    tenant = await render.tenant()
    me = render.user(tenant)
    job = await render.queued(me, num_images=2)
    r = await render.client.post(f"/api/v1/generations/{job['id']}/cancel", headers=me)
    assert r.status_code == 202 and r.json()["status"] == "cancelled"
    assert await render.balance(tenant) == {"available": 50, "reserved": 0}
    (event,) = await render.events("job.cancelled")
    assert event["data"]["stage"] == "queued" and event["data"]["credits_released"] == 2
    # again: nothing more happens
    r = await render.client.post(f"/api/v1/generations/{job['id']}/cancel", headers=me)
    assert r.status_code == 202 and len(await render.events("job.cancelled")) == 1
    # a worker that got its message is refused
    r = await render.internal(
        f"/jobs/{job['id']}/start", {"worker_id": "gpu-1", "receive_count": 1}
    )
    assert r.status_code == 409 and r.json()["proceed"] is False


async def test_models_and_entitlements_follow_the_plan(render):
    tenant = await render.tenant()
    me = render.key(tenant, [])  # any caller of the tenant
    models = {m["key"]: m for m in (await render.get("/api/v1/models", me)).json()["items"]}
    assert set(models) == {"tiny-sd1", "sd-1.5", "sdxl-turbo"}
    assert models["sd-1.5"]["max_width"] == 1024 and models["tiny-sd1"]["test"] is True
    await render.execute(
        entitlements.update().where(entitlements.c.tenant_id == tenant).values(max_width=512)
    )
    models = {m["key"]: m for m in (await render.get("/api/v1/models", me)).json()["items"]}
    assert models["sd-1.5"]["max_width"] == 512 and models["tiny-sd1"]["max_width"] == 256
    ent = (await render.get("/api/v1/entitlements", me)).json()
    assert ent["plan"] == "free" and ent["credits_available"] == 50
    assert ent["max_concurrent_jobs"] == 1 and ent["allowed_models"] == ["sd-1.5", "sdxl-turbo"]


async def test_the_catalog_names_every_plans_models_without_a_login(render):
    """Plan cards name each plan's models as the Generate page does: the catalog answers
    without credentials and lists the models of every plan, not only the caller's."""
    r = await render.get("/api/v1/models/catalog", {})
    assert r.status_code == 200
    names = {m["key"]: m["name"] for m in r.json()["items"]}
    assert names["sdxl-base-1.0"] == "SDXL 1.0"  # a Pro model, not on the free plan
    assert names["sd-1.5"] == "Stable Diffusion 1.5" and "tiny-sd1" in names  # local run
    credit = {m["key"]: m["credit_factor"] for m in r.json()["items"]}
    assert credit["sdxl-base-1.0"] == 2.0


async def test_tenants_are_isolated(render):
    a, b = await render.tenant(), await render.tenant()
    job = await render.queued(render.user(a))
    await render.start(job["id"])
    assert (await render.complete(job, a)).status_code == 200
    image_id = (await render.get("/api/v1/images", render.user(a))).json()["items"][0]["id"]
    other = render.user(b)
    for method, path in (
        ("GET", f"/api/v1/generations/{job['id']}"),
        ("POST", f"/api/v1/generations/{job['id']}/cancel"),
        ("GET", f"/api/v1/generations/{job['id']}/events"),
        ("GET", f"/api/v1/images/{image_id}"),
        ("DELETE", f"/api/v1/images/{image_id}"),
    ):
        r = await render.client.request(method, path, headers=other)
        assert r.status_code == 404, (method, path, r.text)
        assert r.headers["content-type"].startswith(PROBLEM_JSON)
    assert (await render.get("/api/v1/generations", other)).json()["items"] == []
    assert (await render.get("/api/v1/images", other)).json()["items"] == []
    # A's image is untouched
    assert (await render.get(f"/api/v1/images/{image_id}", render.user(a))).status_code == 200
