"""The local run's inbox: /dev/mail and /dev/mail/messages, only with MAIL_DEV_INBOX."""

from __future__ import annotations


async def test_the_dev_inbox_lists_messages_newest_first(mail_for):
    async with mail_for(dev_inbox=True) as m:
        user = await m.user(email="dev@example.com", locale="ko")
        first = await m.verification(user, "dev@example.com", locale="ko")
        await m.settled(first)
        second = await m.verification(user, "dev@example.com", locale="en")
        await m.settled(second)

        r = await m.client.get("/dev/mail/messages")
        assert r.status_code == 200
        items = r.json()
        assert [i["locale"] for i in items[:2]] == ["en", "ko"]
        newest = items[0]
        assert set(newest) >= {
            "id",
            "to",
            "subject",
            "template",
            "locale",
            "status",
            "created_at",
            "html",
            "text",
            "links",
        }
        assert newest["to"] == "dev@example.com" and newest["template"] == "verify_email"
        assert newest["status"] == "sent"
        assert f"https://app.pingvas.dev/verify-email?token=tok{user[:8]}" in newest["links"]

        page = await m.client.get("/dev/mail")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert f"/dev/mail/messages/{newest['id']}/html" in page.text
        assert f"/dev/mail/messages/{newest['id']}/text" in page.text
        html = await m.client.get(f"/dev/mail/messages/{newest['id']}/html")
        assert html.status_code == 200 and html.text == newest["html"]
        text = await m.client.get(f"/dev/mail/messages/{newest['id']}/text")
        assert text.status_code == 200 and text.text == newest["text"]


async def test_there_is_no_dev_inbox_by_default(mail):
    assert (await mail.client.get("/dev/mail")).status_code == 404
    assert (await mail.client.get("/dev/mail/messages")).status_code == 404
