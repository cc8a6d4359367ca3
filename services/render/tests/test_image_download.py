"""A download saves the image under a readable name: the day and the prompt's words."""

from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import unquote

import httpx
from pingvas_render.domain.images import attachment, download_name

DAY = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


def test_the_name_is_the_day_and_the_prompts_first_words():
    assert download_name("A cat, on a sofa!", DAY) == "pingvas-2026-12-07-a-cat-on-a-sofa.png"
    assert download_name("소파 위의 고양이", DAY) == "pingvas-2026-12-07-소파-위의-고양이.png"
    assert download_name("../../etc/passwd", DAY) == "pingvas-2026-12-07-etc-passwd.png"
    assert download_name("!!! ???", DAY) == "pingvas-2026-12-07.png"
    # the day in UTC, whatever the offset it was stored with
    seoul = datetime(2026, 12, 8, 1, 0, tzinfo=timezone(timedelta(hours=9)))
    assert download_name("x", seoul) == "pingvas-2026-12-07-x.png"
    long = download_name(" ".join(["word"] * 40), DAY)
    assert len(long) < 100 and long.endswith("-word.png")


def test_the_disposition_names_the_file_in_utf8_and_in_ascii():
    value = attachment("pingvas-2026-12-07-고양이-cat.png")
    assert value.startswith('attachment; filename="pingvas-2026-12-07-cat.png"')
    assert unquote(value.split("UTF-8''")[1]) == "pingvas-2026-12-07-고양이-cat.png"


async def test_the_download_url_answers_an_attachment_with_the_name(render):
    tenant = await render.tenant(credits=100)
    job = await render.queued(render.user(tenant), prompt="A cat on a sofa")
    await render.start(job["id"])
    assert (await render.complete(job, tenant)).status_code == 200
    image = (await render.get("/api/v1/images", render.user(tenant))).json()["items"][0]
    day = image["created_at"][:10]
    assert image["download_name"] == f"pingvas-{day}-a-cat-on-a-sofa.png"
    async with httpx.AsyncClient() as s3:
        saved = await s3.get(image["download_url"])
        shown = await s3.get(image["url"])
    assert saved.status_code == 200 and saved.content == shown.content
    assert saved.headers["content-disposition"].startswith(
        f'attachment; filename="pingvas-{day}-a-cat-on-a-sofa.png"'
    )
    assert "content-disposition" not in shown.headers
