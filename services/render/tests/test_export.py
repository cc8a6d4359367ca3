"""The export API search's reindex reads: every image of every tenant, paged, token only."""

from pingvas_kit.problems import PROBLEM_JSON


async def _images(render, tenant: str, n: int) -> list[str]:
    job = await render.queued(render.user(tenant), num_images=n)
    await render.start(job["id"])
    assert (await render.complete(job, tenant)).status_code == 200
    return (await render.work_item(job["id"]))["image_ids"]


async def test_pages_every_image_of_every_tenant_once(render):
    a, b = await render.tenant(), await render.tenant()
    expected = set(await _images(render, a, 2)) | set(await _images(render, b, 1))
    headers = {"authorization": f"Bearer {render.settings.export_token_value()}"}
    seen: list[dict] = []
    after, total = None, None
    while True:
        params = {"limit": 2} | ({"after": after} if after else {})
        r = await render.client.get("/internal/v1/export/images", params=params, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        total = page["total"] if total is None else total
        seen += page["items"]
        after = page["next_cursor"]
        if after is None:
            break
    assert total == 3 and len(seen) == 3 and {i["id"] for i in seen} == expected
    one = next(i for i in seen if i["tenant_id"] == b)
    assert one["prompt"] and one["png_key"].startswith(f"tenants/{b}/")
    assert one["created_at"].endswith("+00:00")


async def test_refuses_callers_without_the_export_token(render):
    for headers in ({}, {"authorization": f"Bearer {render.settings.worker_token_value()}"}):
        r = await render.client.get("/internal/v1/export/images", headers=headers)
        assert r.status_code == 401 and r.headers["content-type"].startswith(PROBLEM_JSON)
