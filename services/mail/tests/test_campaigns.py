"""Newsletter campaigns (docs/mail.md, "Newsletter"): the audience (opt-in, plan, once per
person, never a suppressed address), the rate, a send killed midway and resumed (everyone
gets exactly one message), and the `pingvas-mail campaign` command line."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pingvas_mail import cli
from pingvas_mail.adapters.db import (
    campaign_recipients,
    campaigns,
    memberships,
    messages,
    preferences,
    recipients,
    suppressions,
    tenant_plans,
)
from pingvas_mail.domain.campaigns import CampaignError, SendResult
from pingvas_mail.settings import Settings
from pingvas_mail.usecases.campaigns import (
    create_campaign,
    get_campaign,
    list_campaigns,
    send,
)

from pingvas_kit.db import Database, now
from pingvas_kit.migrations import upgrade

MIGRATIONS = Path(cli.__file__).parent / "migrations"
BOTH = pytest.mark.parametrize("db_backend", ["sqlite", "postgres"], indirect=True)


@dataclass
class FakeRendered:
    subject: str
    html: str
    text: str


def fake_render(template: str, locale: str, context: dict[str, Any]) -> FakeRendered:
    greeting = {"ko": "안녕하세요", "en": "Hello"}[locale]
    body = "\n".join(context["body_paragraphs"])
    cta = f"{context['cta_label']}: {context['cta_url']}"
    return FakeRendered(
        subject=f"[{template}] {context['title']}",
        html=f"<p>{greeting} {context['name']}</p><p>{body}</p><p>{cta}</p>"
        f"<a href='{context['unsubscribe_url']}'>x</a>",
        text=f"{greeting} {context['name']}\n{context['title']}\n{body}\n{cta}\n"
        f"unsubscribe: {context['unsubscribe_url']}",
    )


def fake_link(user_id: str, preference: str) -> str:
    return f"https://pingvas.test/unsubscribe?user={user_id}&p={preference}"


class Boom(RuntimeError):
    pass


def render_failing_after(n: int):
    """A renderer that dies on its (n+1)th call: a crash in the middle of a send."""
    calls = {"n": 0}

    def render(template: str, locale: str, context: dict[str, Any]) -> FakeRendered:
        calls["n"] += 1
        if calls["n"] > n:
            raise Boom(f"killed after {n}")
        return fake_render(template, locale, context)

    return render


@pytest.fixture
async def db(db_backend: dict[str, Any]) -> AsyncIterator[Database]:
    overrides = {k: v for k, v in db_backend.items() if k != "backend"}
    database = Database(Settings(**overrides))
    await upgrade(database, MIGRATIONS)
    yield database
    await database.dispose()


async def person(
    db: Database,
    user_id: str,
    *,
    newsletter: bool | None = True,
    teams: dict[str, str | None] | None = None,
    locale: str = "en",
    email: str | None = None,
) -> None:
    """A recipient with preferences (None: no preferences row) and memberships in teams
    {tenant_id: plan or None (no tenant_plans row)}."""
    stamp = now()
    async with db.transaction() as s:
        await s.execute(
            sa.insert(recipients).values(
                user_id=user_id,
                email=email or f"{user_id}@example.com",
                name=user_id.title(),
                locale=locale,
                updated_at=stamp,
            )
        )
        if newsletter is not None:
            await s.execute(
                sa.insert(preferences).values(
                    user_id=user_id, newsletter=newsletter, updated_at=stamp
                )
            )
        for tenant_id, plan in (teams or {}).items():
            await s.execute(
                sa.insert(memberships).values(tenant_id=tenant_id, user_id=user_id, role="owner")
            )
            if plan is not None:
                exists = (
                    await s.execute(
                        sa.select(tenant_plans.c.tenant_id).where(
                            tenant_plans.c.tenant_id == tenant_id
                        )
                    )
                ).first()
                if exists is None:
                    await s.execute(
                        sa.insert(tenant_plans).values(
                            tenant_id=tenant_id, plan=plan, updated_at=stamp
                        )
                    )


async def suppress(db: Database, email: str) -> None:
    async with db.transaction() as s:
        await s.execute(
            sa.insert(suppressions).values(email=email, reason="bounce", created_at=now())
        )


async def set_newsletter(db: Database, user_id: str, on: bool) -> None:
    async with db.transaction() as s:
        await s.execute(
            sa.update(preferences).where(preferences.c.user_id == user_id).values(newsletter=on)
        )


async def campaign_messages(db: Database, campaign_id: str) -> list[sa.Row]:
    async with db.sessionmaker() as s:
        return list(
            (
                await s.execute(
                    sa.select(messages)
                    .where(messages.c.causation_id == f"campaign:{campaign_id}")
                    .order_by(messages.c.to_email)
                )
            ).all()
        )


async def audience_of(db: Database, campaign_id: str) -> list[sa.Row]:
    async with db.sessionmaker() as s:
        return list(
            (
                await s.execute(
                    sa.select(campaign_recipients)
                    .where(campaign_recipients.c.campaign_id == campaign_id)
                    .order_by(campaign_recipients.c.position)
                )
            ).all()
        )


CONTENT = {
    "en": {"title": "December", "body_paragraphs": ["FLUX is here.", "Share by link."]},
    "ko": {
        "title": "12월 소식",
        "body_paragraphs": "FLUX가 왔습니다.\n\n링크로 공유하세요.",
        "cta_url": "https://pingvas.test/blog",
        "cta_label": "더 보기",
    },
}


async def new_campaign(db: Database, **kwargs: Any) -> str:
    kwargs.setdefault("name", "December news")
    kwargs.setdefault("subjects", {"en": "What's new", "ko": "새 소식"})
    kwargs.setdefault("content", CONTENT)
    kwargs.setdefault("rate_per_s", 1000)
    kwargs.setdefault("render", fake_render)
    return (await create_campaign(db, **kwargs)).id


async def send_fast(db: Database, campaign_id: str, **kwargs: Any) -> SendResult:
    kwargs.setdefault("render", fake_render)
    kwargs.setdefault("unsubscribe_url", fake_link)
    kwargs.setdefault("progress", False)
    return await send(db, campaign_id, **kwargs)


async def directory(db: Database) -> None:
    """ann: opted in, Pro team. bob: opted out, Pro team. cat: opted in, a team billing
    never told us about (Free). dan: opted in, two Pro teams and a Free one (once). eve:
    opted in, Pro, but her address bounced. fay: no preferences row (never opted in).
    gus: opted in, Korean, Team plan. hal: opted in, in no team at all."""
    await person(db, "ann", teams={"t-ann": "pro"})
    await person(db, "bob", newsletter=False, teams={"t-bob": "pro"})
    await person(db, "cat", teams={"t-cat": None})
    await person(db, "dan", teams={"t-ann": "pro", "t-dan": "pro", "t-dan2": "free"})
    await person(db, "eve", teams={"t-eve": "pro"}, email="Eve@Example.com")
    await suppress(db, "eve@example.com")
    await person(db, "fay", newsletter=None, teams={"t-fay": "pro"})
    await person(db, "gus", teams={"t-gus": "team"}, locale="ko")
    await person(db, "hal")


@BOTH
async def test_the_audience_is_everyone_opted_in_once_and_never_a_suppressed_address(
    db: Database,
) -> None:
    await directory(db)
    campaign_id = await new_campaign(db)
    result = await send_fast(db, campaign_id)
    assert (result.status, result.total, result.queued, result.skipped, result.pending) == (
        "done",
        5,
        5,
        0,
        0,
    )

    audience = await audience_of(db, campaign_id)
    assert [r.user_id for r in audience] == ["ann", "cat", "dan", "gus", "hal"]
    assert [r.position for r in audience] == [1, 2, 3, 4, 5]
    assert {r.status for r in audience} == {"queued"}

    sent = {m.user_id: m for m in await campaign_messages(db, campaign_id)}
    assert sorted(sent) == ["ann", "cat", "dan", "gus", "hal"]
    assert {r.user_id: r.message_id for r in audience} == {u: m.id for u, m in sent.items()}
    for m in sent.values():
        assert m.status == "pending"
        assert m.category == "marketing"
        assert m.template == "newsletter"
        assert m.campaign_id == campaign_id
        assert m.tenant_id is None
        assert fake_link(m.user_id, "newsletter") in m.text
        assert fake_link(m.user_id, "newsletter") in m.html
    assert (sent["gus"].locale, sent["gus"].subject) == ("ko", "새 소식")
    assert "안녕하세요 Gus\n12월 소식\nFLUX가 왔습니다.\n링크로 공유하세요." in sent["gus"].text
    assert "더 보기: https://pingvas.test/blog" in sent["gus"].text
    assert (sent["ann"].locale, sent["ann"].subject) == ("en", "What's new")
    assert "Hello Ann\nDecember\nFLUX is here.\nShare by link." in sent["ann"].text
    # no button given in English: one to the app
    assert "Open Pingvas: http://127.0.0.1:8080" in sent["ann"].text

    campaign = await get_campaign(db, campaign_id)
    assert (campaign.status, campaign.total) == ("done", 5)
    assert campaign.started_at is not None and campaign.finished_at is not None


@BOTH
@pytest.mark.parametrize(
    ("plans", "expected"),
    [
        (["pro"], ["ann", "dan"]),
        (["free"], ["cat", "dan"]),  # no plan row is Free; dan's third team is Free
        (["Team", "pro"], ["ann", "dan", "gus"]),
    ],
)
async def test_the_audience_by_plan(db: Database, plans: list[str], expected: list[str]) -> None:
    await directory(db)
    campaign_id = await new_campaign(db, audience={"plans": plans})
    result = await send_fast(db, campaign_id)
    assert result.total == len(expected)
    assert [r.user_id for r in await audience_of(db, campaign_id)] == expected
    assert sorted(m.user_id for m in await campaign_messages(db, campaign_id)) == expected


@BOTH
async def test_the_audience_is_fixed_when_sending_starts(db: Database) -> None:
    await directory(db)
    campaign_id = await new_campaign(db)
    # created, not started: someone who opts in now is still in
    await person(db, "ivy")
    with pytest.raises(Boom):
        await send_fast(db, campaign_id, render=render_failing_after(0))
    fixed = [r.user_id for r in await audience_of(db, campaign_id)]
    assert fixed == ["ann", "cat", "dan", "gus", "hal", "ivy"]
    assert (await get_campaign(db, campaign_id)).status == "sending"
    # started: joining later changes nothing; leaving or bouncing means no mail
    await person(db, "joe")
    await set_newsletter(db, "cat", False)
    await suppress(db, "dan@example.com")
    result = await send_fast(db, campaign_id)
    assert (result.status, result.total, result.queued, result.skipped) == ("done", 6, 4, 2)
    statuses = {r.user_id: r.status for r in await audience_of(db, campaign_id)}
    assert statuses == {
        "ann": "queued",
        "cat": "skipped",
        "dan": "skipped",
        "gus": "queued",
        "hal": "queued",
        "ivy": "queued",
    }
    by_user = {m.user_id: m.status for m in await campaign_messages(db, campaign_id)}
    assert by_user == {
        "ann": "pending",
        "cat": "unsubscribed",
        "dan": "suppressed",
        "gus": "pending",
        "hal": "pending",
        "ivy": "pending",
    }


async def test_two_accounts_with_one_address_get_one_copy(tmp_path: Path) -> None:
    database = Database(Settings(var_dir=tmp_path))
    await upgrade(database, MIGRATIONS)
    try:
        await person(database, "one", email="same@example.com")
        await person(database, "two", email="Same@Example.com")
        campaign_id = await new_campaign(database)
        result = await send_fast(database, campaign_id)
        assert result.total == 1
        assert len(await campaign_messages(database, campaign_id)) == 1
    finally:
        await database.dispose()


async def test_the_rate_is_respected(tmp_path: Path) -> None:
    database = Database(Settings(var_dir=tmp_path))
    await upgrade(database, MIGRATIONS)
    try:
        for i in range(13):
            await person(database, f"p{i:02d}")
        campaign_id = await new_campaign(database, rate_per_s=20)
        started = time.monotonic()
        stamps: list[float] = []
        real_render = fake_render

        def timed(template: str, locale: str, context: dict[str, Any]) -> FakeRendered:
            stamps.append(time.monotonic() - started)
            return real_render(template, locale, context)

        result = await send_fast(database, campaign_id, render=timed)
        took = time.monotonic() - started
        assert result.queued == 13
        # 13 at 20/s: the first at once, the last at 12/20 = 0.6 s
        assert 0.55 <= took < 3.0, took
        for i, at in enumerate(stamps):
            assert at >= i / 20 - 0.02, (i, at)

        # --rate for one run overrides the campaign's
        for i in range(13, 53):
            await person(database, f"p{i:02d}")
        faster = await new_campaign(database, rate_per_s=1)
        started = time.monotonic()
        result = await send_fast(database, faster, rate_per_s=200)
        assert result.queued == 53
        assert 0.2 <= time.monotonic() - started < 3.0
    finally:
        await database.dispose()


@BOTH
async def test_a_send_that_crashes_midway_resumes_and_nobody_gets_two(db: Database) -> None:
    for i in range(30):
        await person(db, f"u{i:02d}", locale="ko" if i % 3 == 0 else "en")
    campaign_id = await new_campaign(db, rate_per_s=400)
    with pytest.raises(Boom):
        await send_fast(db, campaign_id, render=render_failing_after(11))
    first = await campaign_messages(db, campaign_id)
    audience = await audience_of(db, campaign_id)
    queued = [r for r in audience if r.status == "queued"]
    # every recipient is either pending or queued with its message, never in between
    assert 0 < len(first) == len(queued) < 30
    assert {r.message_id for r in queued} == {m.id for m in first}
    assert [r.status for r in audience] == ["queued"] * len(queued) + ["pending"] * (
        30 - len(queued)
    )

    result = await send_fast(db, campaign_id)
    assert (result.status, result.total, result.queued, result.pending) == (
        "done",
        30,
        30 - len(queued),
        0,
    )
    after = await campaign_messages(db, campaign_id)
    assert sorted(m.user_id for m in after) == [f"u{i:02d}" for i in range(30)]
    assert {m.id for m in first} <= {m.id for m in after}
    # sending a finished campaign again does nothing
    again = await send_fast(db, campaign_id)
    assert (again.status, again.queued) == ("done", 0)
    assert len(await campaign_messages(db, campaign_id)) == 30


@BOTH
async def test_the_unique_key_stops_a_second_copy(db: Database) -> None:
    """Even if a recipient were pending again with its message written (it cannot be: both
    change in one transaction), or two sends ran at once, one copy each."""
    for i in range(12):
        await person(db, f"u{i:02d}")
    campaign_id = await new_campaign(db)
    await send_fast(db, campaign_id)
    async with db.transaction() as s:
        await s.execute(
            sa.update(campaign_recipients)
            .where(campaign_recipients.c.campaign_id == campaign_id)
            .values(status="pending")
        )
        await s.execute(
            sa.update(campaigns).where(campaigns.c.id == campaign_id).values(status="sending")
        )
    result = await send_fast(db, campaign_id)
    assert (result.status, result.queued, result.skipped) == ("done", 0, 12)
    assert len(await campaign_messages(db, campaign_id)) == 12

    other = await new_campaign(db, rate_per_s=100)
    results = await asyncio.gather(*(send_fast(db, other) for _ in range(3)))
    assert sum(r.queued for r in results) == 12
    assert len(await campaign_messages(db, other)) == 12
    assert {r.status for r in await audience_of(db, other)} == {"queued"}


KILLED_SEND = textwrap.dedent(
    """
    import asyncio, sys
    sys.path.insert(0, sys.argv[3])
    from test_campaigns import fake_link, fake_render
    from pingvas_kit.db import Database
    from pingvas_mail.usecases.campaigns import send
    from pingvas_mail.settings import Settings

    async def main():
        db = Database(Settings(var_dir=sys.argv[1]))
        await send(db, sys.argv[2], progress=False, render=fake_render,
                   unsubscribe_url=fake_link)

    asyncio.run(main())
    """
)


async def test_a_send_killed_by_sigkill_resumes_and_nobody_gets_two(tmp_path: Path) -> None:
    database = Database(Settings(var_dir=tmp_path))
    await upgrade(database, MIGRATIONS)
    try:
        for i in range(60):
            await person(database, f"k{i:02d}")
        campaign_id = await new_campaign(database, rate_per_s=25)
        script = tmp_path / "killed_send.py"
        script.write_text(KILLED_SEND)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            str(tmp_path),
            campaign_id,
            str(Path(__file__).parent),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        db_file = tmp_path / "mail.db"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.returncode is None:
            with sqlite3.connect(db_file, timeout=10) as conn:
                count = conn.execute(
                    "SELECT count(*) FROM messages WHERE causation_id = ?",
                    (f"campaign:{campaign_id}",),
                ).fetchone()[0]
            if count >= 10:
                break
            await asyncio.sleep(0.05)
        if proc.returncode is not None:
            output = await proc.stdout.read() if proc.stdout else b""
            raise AssertionError(f"the send ended before it was killed: {output.decode()}")
        proc.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGKILL

        first = await campaign_messages(database, campaign_id)
        audience = await audience_of(database, campaign_id)
        queued = [r for r in audience if r.status == "queued"]
        assert 10 <= len(first) == len(queued) < 60
        assert (await get_campaign(database, campaign_id)).status == "sending"

        result = await send_fast(database, campaign_id)
        assert (result.status, result.total, result.pending) == ("done", 60, 0)
        assert result.queued == 60 - len(queued)
        after = await campaign_messages(database, campaign_id)
        assert sorted(m.user_id for m in after) == [f"k{i:02d}" for i in range(60)]
    finally:
        await database.dispose()


async def test_a_campaign_needs_subjects_a_rate_and_a_known_audience(tmp_path: Path) -> None:
    database = Database(Settings(var_dir=tmp_path))
    await upgrade(database, MIGRATIONS)
    try:
        with pytest.raises(CampaignError, match="missing"):
            await new_campaign(database, subjects={"en": "Hi"})
        with pytest.raises(CampaignError, match="body in every language"):
            await new_campaign(database, content={"en": CONTENT["en"]})
        with pytest.raises(CampaignError, match="http"):
            await new_campaign(
                database, content={**CONTENT, "en": {**CONTENT["en"], "cta_url": "javascript:x"}}
            )

        def broken(template: str, locale: str, context: dict[str, Any]) -> FakeRendered:
            raise KeyError(f"unknown mail template {template!r}")

        with pytest.raises(CampaignError, match="does not render"):
            await new_campaign(database, template="newsleter", render=broken)
        with pytest.raises(CampaignError, match="rate"):
            await new_campaign(database, rate_per_s=0)
        with pytest.raises(CampaignError, match="unknown audience"):
            await new_campaign(database, audience={"country": "kr"})
        with pytest.raises(CampaignError, match="empty"):
            await new_campaign(database, audience={"plans": []})
        with pytest.raises(CampaignError, match="no campaign"):
            await send_fast(database, "no-such-campaign")
        assert await list_campaigns(database) == []
    finally:
        await database.dispose()


# -- the command line ------------------------------------------------------------------------


def _directory_sqlite(path: Path) -> None:
    stamp = "2026-12-01 00:00:00"
    with sqlite3.connect(path) as conn:
        for user_id, locale, on, plan in [
            ("ko1", "ko", True, "pro"),
            ("en1", "en", True, "free"),
            ("en2", "en", False, "pro"),
            ("en3", "en", True, "pro"),
        ]:
            conn.execute(
                "INSERT INTO recipients (user_id, email, name, locale, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (user_id, f"{user_id}@example.com", user_id.upper(), locale, stamp),
            )
            conn.execute(
                "INSERT INTO preferences (user_id, job_completed, usage_notices, newsletter,"
                " updated_at) VALUES (?, 0, 1, ?, ?)",
                (user_id, on, stamp),
            )
            conn.execute(
                "INSERT INTO memberships (tenant_id, user_id, role) VALUES (?, ?, 'owner')",
                (f"t-{user_id}", user_id),
            )
            conn.execute(
                "INSERT INTO tenant_plans (tenant_id, plan, updated_at) VALUES (?, ?, ?)",
                (f"t-{user_id}", plan, stamp),
            )


def _templates_ready() -> bool:
    """The templates engineer's newsletter is in place (else the CLI test renders fakes)."""
    try:
        from pingvas_mail.templates import SAMPLES, render

        render("newsletter", "ko", SAMPLES["newsletter"])
    except Exception:
        return False
    return True


def test_cli_creates_lists_and_sends_a_campaign(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pingvas_mail.domain import unsubscribe

    for key in [k for k in os.environ if k.startswith("MAIL_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("MAIL_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("MAIL_PUBLIC_URL", "https://app.pingvas.test")
    # the local run's secret, as `pingvas-dev up` keeps it: links verify with it
    secret = "local-run-internal-secret-0123456789abcdef"
    (tmp_path / "secrets.json").write_text(json.dumps({"PINGVAS_INTERNAL_SECRET": secret}))
    if not _templates_ready():
        monkeypatch.setattr(campaigns, "default_renderer", lambda: fake_render)

    assert cli.main(["campaign", "list"]) == 0  # migrates the empty database
    assert "no campaigns yet" in capsys.readouterr().out
    _directory_sqlite(tmp_path / "mail.db")

    create = [
        "campaign", "create", "--name", "Pro news", "--subject-en", "For Pro",
        "--subject-ko", "프로 소식", "--plan", "pro", "--rate", "50",
        "--body-en", "First.", "--body-en", "Second.", "--body-ko", "첫째.",
        "--title-ko", "프로 회원께",
    ]  # fmt: skip
    assert cli.main(create) == 0
    campaign_id = capsys.readouterr().out.strip()
    assert len(campaign_id) == 36

    assert cli.main(["campaign", "list", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["id"] == campaign_id
    assert (listed["status"], listed["audience"], listed["rate_per_s"]) == (
        "draft",
        {"plans": ["pro"]},
        50,
    )
    assert listed["subjects"] == {"en": "For Pro", "ko": "프로 소식"}
    assert listed["content"] == {
        "en": {"body_paragraphs": ["First.", "Second."]},
        "ko": {"title": "프로 회원께", "body_paragraphs": ["첫째."]},
    }

    assert cli.main(["campaign", "send", campaign_id, "--rate", "100"]) == 0
    out = capsys.readouterr()
    assert "done; 2 recipients, 2 queued now" in out.out
    assert "2/2" in out.err  # the progress bar

    assert cli.main(["campaign", "list"]) == 0
    table = capsys.readouterr().out
    assert campaign_id in table and "done" in table and "Pro news" in table

    with sqlite3.connect(tmp_path / "mail.db") as conn:
        rows = conn.execute(
            "SELECT user_id, locale, subject, text, status, category, html FROM messages"
            " WHERE causation_id = ? ORDER BY user_id",
            (f"campaign:{campaign_id}",),
        ).fetchall()
    assert [r[:3] + r[4:6] for r in rows] == [
        ("en3", "en", "For Pro", "pending", "marketing"),
        ("ko1", "ko", "프로 소식", "pending", "marketing"),
    ]
    settings = Settings(var_dir=tmp_path, internal_secret=secret)
    assert "First." in rows[0][3] and "Second." in rows[0][3]
    assert "프로 회원께" in rows[1][6] and "첫째." in rows[1][3] and "첫째." in rows[1][6]
    for user_id, _, _, text, _, _, _ in rows:
        token = text.split("token=", 1)[1].split()[0].rstrip(").>\"'")
        from urllib.parse import unquote

        assert unsubscribe.verify(settings, unquote(token)) == (user_id, "newsletter")
        assert "https://app.pingvas.test/" in text

    # a finished campaign: send again does nothing; an unknown one is an error
    assert cli.main(["campaign", "send", campaign_id, "--no-progress"]) == 0
    assert "0 queued now" in capsys.readouterr().out
    assert cli.main(["campaign", "send", "nope"]) == 2
    assert "no campaign nope" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["campaign", "create", "--name", "x", "--subject-en", "y"])


def test_the_cli_runs_as_a_program(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAIL_")}
    env["MAIL_VAR_DIR"] = str(tmp_path)
    script = Path(sys.executable).with_name("pingvas-mail")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "pingvas_mail.cli"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *args], env=env, capture_output=True, text=True, timeout=60
        )

    listed = run("campaign", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []
    assert (tmp_path / "mail.db").is_file()
    unknown = run("campaign", "send", "nope")
    assert unknown.returncode == 2 and "no campaign nope" in unknown.stderr
    if not _templates_ready():
        return
    done = run(
        "campaign", "create", "--name", "n", "--subject-en", "e", "--subject-ko", "k",
        "--body-en", "Hello.", "--body-ko", "안녕.",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = run("campaign", "list", "--json")
    assert json.loads(listed.stdout)[0]["id"] == done.stdout.strip()


def test_render_templates_writes_the_review(tmp_path: Path) -> None:
    pytest.importorskip("pingvas_mail.templates.review")
    out = tmp_path / "review"
    assert cli.main(["render-templates", str(out)]) == 0
    written = [p for p in out.rglob("*") if p.is_file()]
    assert written, "render-templates wrote nothing"
