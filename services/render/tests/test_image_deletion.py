"""Who may delete which image: the team's `member_image_deletion` setting, as tenants'
`tenant.settings_changed` said it (default `own`)."""

from datetime import UTC, datetime, timedelta

from pingvas_contracts import example
from pingvas_contracts.events.tenants import TenantSettingsChanged
from pingvas_kit.problems import PROBLEM_JSON

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


async def _image_by(render, tenant: str, user_id: str) -> str:
    job = await render.queued(render.user(tenant, user_id=user_id))
    await render.start(job["id"])
    assert (await render.complete(job, tenant)).status_code == 200
    item = await render.get("/api/v1/images", render.user(tenant))
    return next(i["id"] for i in item.json()["items"] if i["job_id"] == job["id"])


def _settings(value: str, at: datetime) -> TenantSettingsChanged:
    return example(TenantSettingsChanged, member_image_deletion=value, changed_at=at)


async def test_a_member_deletes_their_own_images_and_others_only_when_the_team_allows(render):
    tenant = await render.tenant(credits=100)
    mine, theirs = "u-minji", "u-jisoo"
    own = await _image_by(render, tenant, mine)
    other = await _image_by(render, tenant, theirs)
    image = (await render.get(f"/api/v1/images/{other}", render.user(tenant))).json()
    assert image["user_id"] == theirs
    me = render.user(tenant, user_id=mine)

    # the default: only their own
    r = await render.client.delete(f"/api/v1/images/{other}", headers=me)
    assert r.status_code == 403 and r.headers["content-type"].startswith(PROBLEM_JSON)
    assert r.json()["type"].endswith("/image-not-yours")
    assert (await render.get(f"/api/v1/images/{other}", me)).status_code == 200
    assert (await render.client.delete(f"/api/v1/images/{own}", headers=me)).status_code == 204

    # the team allows any; a late, older event does not undo it
    await render.deliver(_settings("any", T0), tenant_id=tenant)
    await render.deliver(_settings("own", T0 - timedelta(minutes=5)), tenant_id=tenant)
    assert (await render.client.delete(f"/api/v1/images/{other}", headers=me)).status_code == 204
    deleted = (await render.events("image.deleted"))[-1]["data"]
    assert deleted["image_id"] == other and deleted["deleted_by_user_id"] == mine

    # back to own: an admin still deletes anyone's, a member not
    await render.deliver(_settings("own", T0 + timedelta(minutes=1)), tenant_id=tenant)
    third = await _image_by(render, tenant, theirs)
    r = await render.client.delete(f"/api/v1/images/{third}", headers=me)
    assert r.status_code == 403
    admin = render.user(tenant, user_id="u-admin", role="admin")
    assert (await render.client.delete(f"/api/v1/images/{third}", headers=admin)).status_code == 204


async def test_an_api_key_deletion_names_the_key(render):
    tenant = await render.tenant(credits=100)
    image = await _image_by(render, tenant, "u-minji")
    key = render.key(tenant, ["images:write", "images:read"], key_id="k-1")
    assert (await render.client.delete(f"/api/v1/images/{image}", headers=key)).status_code == 204
    deleted = (await render.events("image.deleted"))[-1]["data"]
    assert deleted["deleted_by_user_id"] is None and deleted["deleted_by_api_key_id"] == "k-1"
