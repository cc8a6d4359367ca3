"""The search API as a team and a partner use it: Korean and English, filters, pages,
highlights, suggestions, and nothing of another tenant's ever."""

import uuid
from datetime import timedelta

import httpx
import pytest

from pingvas_kit.problems import PROBLEM_JSON


async def test_finds_korean_and_english_prompts_with_highlights(search):
    t = str(uuid.uuid4())
    await search.created(t, "귀여운 고양이들이 노는 사진")
    await search.created(t, "a cat on a sofa")
    await search.created(t, "서울의 밤거리 네온사인, cyberpunk city at night")

    # each language finds the other's prompt too (test_relevance.py)
    both = {"귀여운 고양이들이 노는 사진", "a cat on a sofa"}
    assert set(await search.found(t, "고양이")) == both
    assert set(await search.found(t, "cats")) == both
    assert await search.found(t, "sofa") == ["a cat on a sofa"]
    assert await search.found(t, "네온사인 city") == [
        "서울의 밤거리 네온사인, cyberpunk city at night"
    ]
    assert await search.found(t, "강아지") == []

    r = await search.find(search.user(t), q="고양이")
    body = r.json()
    assert body["total"] == 2 and body["engine"] == "embedded" and body["next_cursor"] is None
    (item,) = [i for i in body["items"] if i["prompt"].startswith("귀여운")]
    marked = [s["text"] for s in item["highlight"] if s["match"]]
    assert marked and all("고양이" in m for m in marked)
    assert "".join(s["text"] for s in item["highlight"]) == item["prompt"]


async def test_results_carry_the_gallerys_fields_and_working_urls(search):
    t = str(uuid.uuid4())
    image_id = await search.created(t, "a red fox in the snow", model="tiny-sd1", seed=7)
    (item,) = (await search.find(search.user(t), q="fox")).json()["items"]
    assert item["id"] == image_id and item["seed"] == 7 and item["model"] == "tiny-sd1"
    assert item["width"] == 64 and item["created_at"].startswith("2026-11-01T09:")
    # presigned for the images bucket, for the PNG and the WebP thumbnail
    for field, kind in (("url", "image/png"), ("thumbnail_url", "image/webp")):
        assert f"/{search.settings.images_bucket}/tenants/{t}/images/{image_id}" in item[field]
        assert (
            "X-Amz-Signature=" in item[field]
            and httpx.URL(item[field]).params["response-content-type"] == kind
        )


async def test_filters_sort_and_pages(search):
    t = str(uuid.uuid4())
    for i in range(5):
        await search.created(
            t, f"mountain lake number {i}", model="tiny-sd1" if i % 2 else "sdxl-base"
        )
    newest = await search.found(t, "mountain", sort="newest")
    assert newest == [f"mountain lake number {i}" for i in (4, 3, 2, 1, 0)]
    assert await search.found(t, "mountain", model="tiny-sd1", sort="newest") == [
        "mountain lake number 3",
        "mountain lake number 1",
    ]
    # created_at of image i is T0 + (i+1) minutes
    since, until = (
        (search.t0 + timedelta(minutes=2)).isoformat(),
        (search.t0 + timedelta(minutes=4)).isoformat(),
    )
    assert await search.found(t, "lake", sort="newest", **{"from": since, "to": until}) == [
        "mountain lake number 2",
        "mountain lake number 1",
    ]
    # an empty query lists everything, newest first
    assert (await search.found(t))[0] == "mountain lake number 4"

    seen, cursor = [], None
    while True:
        params = {"q": "lake", "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await search.find(search.user(t), **params)).json()
        assert page["total"] == 5
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "random"},
        {"limit": 0},
        {"limit": 101},
        {"q": "x" * 501},
        {"from": "yesterday"},
        {"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
        {"cursor": "not-a-cursor"},
    ],
)
async def test_bad_input_is_a_problem(search, params):
    t = str(uuid.uuid4())
    await search.created(t, "a cat on a sofa")
    r = await search.find(search.user(t), **{"q": "cat", **params})
    assert r.status_code in (400, 422), r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON)
    assert r.json()["status"] == r.status_code


async def test_a_cursor_of_another_tenant_or_query_is_refused(search):
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    for i in range(3):
        await search.created(a, f"cat {i}")
        await search.created(b, f"cat {i}")
    cursor = (await search.find(search.user(a), q="cat", limit=1)).json()["next_cursor"]
    assert cursor
    for who, q in ((search.user(b), "cat"), (search.user(a), "dog")):
        r = await search.find(who, q=q, limit=1, cursor=cursor)
        assert r.status_code == 400 and r.headers["content-type"].startswith(PROBLEM_JSON)


async def test_suggests_the_tenants_own_prompts(search):
    t = str(uuid.uuid4())
    for _ in range(3):
        await search.created(t, "고양이 초상화, oil painting")
    await search.created(t, "고양이들이 노는 정원")
    await search.created(t, "a castle on a hill")

    r = await search.suggest(search.user(t), "고양")
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["prompt"] for i in items] == ["고양이 초상화, oil painting", "고양이들이 노는 정원"]
    assert items[0]["images"] == 3
    assert [
        i["prompt"] for i in (await search.suggest(search.user(t), "a ca")).json()["items"]
    ] == ["a castle on a hill"]
    recent = (await search.suggest(search.user(t), "")).json()["items"]
    assert recent[0]["prompt"] == "a castle on a hill"


CRAFTED = [
    '" OR 1=1 --',
    "*",
    "고양*",
    'tenant:"x" OR prompt:*',
    "NEAR(cat sofa)",
    "cat OR dog",
    "^cat",
    '"""',
    "' OR ''='",
    "%",
    "_",
]


async def test_tenant_b_never_sees_tenant_a(search):
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    secret = await search.created(a, "secret prototype 고양이 cat on a sofa")
    await search.created(b, "b's own dog")
    as_b = search.user(b)
    for q in ["고양이", "cat", "secret", a, secret, *CRAFTED]:
        r = await search.find(as_b, q=q)
        assert r.status_code == 200, (q, r.text)
        assert all(item["prompt"] == "b's own dog" for item in r.json()["items"]), q
        s = await search.suggest(as_b, q)
        assert s.status_code == 200, (q, s.text)
        assert all(i["prompt"] == "b's own dog" for i in s.json()["items"]), q
    for prefix in ["s", "se", "secret", "고", "고양", "c", ""]:
        s = (await search.suggest(as_b, prefix)).json()["items"]
        assert all("secret" not in i["prompt"] for i in s), prefix
    # a tenant id in the query string is not how search picks the tenant
    r = await search.client.get(
        "/api/v1/search/images", params={"q": "secret", "tenant_id": a}, headers=as_b
    )
    assert r.json()["items"] == []


async def test_who_may_search(search):
    t = str(uuid.uuid4())
    await search.created(t, "a cat on a sofa")
    assert (await search.find({}, q="cat")).status_code == 401
    assert (await search.find(search.key(t, ("images:read",)), q="cat")).status_code == 403
    r = await search.find(search.key(t, ("search:read",)), q="cat")
    assert r.status_code == 200 and len(r.json()["items"]) == 1
