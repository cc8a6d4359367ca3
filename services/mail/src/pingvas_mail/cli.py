"""`pingvas-mail`: the mail service's command line.

    pingvas-mail campaign create --name NAME --subject-en S --subject-ko S
        (--body-en P [--body-en P ...] --body-ko P ... | --content FILE)
        [--title-en T --title-ko T] [--cta-url URL --cta-label-en L --cta-label-ko L]
        [--template newsletter] [--plan pro ...] [--rate 5] [--created-by WHO]
    pingvas-mail campaign send ID [--rate N] [--no-progress]
    pingvas-mail campaign list [--json]
    pingvas-mail render-templates OUT

It works on the mail service's own database, found as the service finds it (MAIL_* variables:
MAIL_DATABASE_URL for Postgres, else MAIL_VAR_DIR/mail.db; default var/mail.db, the local
run's), migrated first if it needs to be. Unsubscribe links are signed as the service signs
them (MAIL_UNSUBSCRIBE_SECRET or MAIL_INTERNAL_SECRET); with neither set, the local run's
secret from MAIL_VAR_DIR/secrets.json. A newsletter's words come from the options (each
--body-* is a paragraph) or from --content FILE, TOML or JSON with a table per language:

    [en]
    title = "What's new"
    body_paragraphs = ["FLUX Schnell is here.", "Share galleries by link."]
    cta_url = "https://pingvas.com/blog/2026-12"
    cta_label = "Read more"
    [ko]
    ...

`campaign send` only queues the messages (docs/mail.md,
"Newsletter"); the running mail service sends them. It may be stopped (Ctrl-C) and run again:
it resumes with the recipients still pending, and nobody gets a second copy."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from pingvas_kit.logging import configure_logging
from pingvas_kit.migrations import open_database
from pingvas_kit.settings import with_local_secret

from .domain.campaigns import (
    DEFAULT_RATE_PER_S,
    DEFAULT_TEMPLATE,
    LOCALES,
    Campaign,
    CampaignError,
    Progress,
)
from .settings import Settings
from .usecases import campaigns

MIGRATIONS = Path(__file__).parent / "migrations"
SECRET_KEYS = ("MAIL_UNSUBSCRIBE_SECRET", "MAIL_INTERNAL_SECRET")


def load_settings() -> Settings:
    """The mail service's settings from the environment; the local run's internal secret
    (var/secrets.json) when the environment names none, so links match the local service."""
    # the kit types its answer as the base class; it is a copy of ours
    return cast(Settings, with_local_secret(Settings(), *SECRET_KEYS))


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _as_json(campaign: Campaign, progress: Progress) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "template": campaign.template,
        "subjects": campaign.subjects,
        "content": campaign.content,
        "audience": campaign.audience,
        "rate_per_s": campaign.rate_per_s,
        "status": campaign.status,
        "total": progress.total or campaign.total,
        "queued": progress.queued,
        "skipped": progress.skipped,
        "pending": progress.pending,
        "created_by": campaign.created_by,
        "created_at": campaign.created_at.isoformat() if campaign.created_at else None,
        "started_at": campaign.started_at.isoformat() if campaign.started_at else None,
        "finished_at": campaign.finished_at.isoformat() if campaign.finished_at else None,
    }


def content_from(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The newsletter's words: --content FILE, then the options over it."""
    content: dict[str, dict[str, Any]] = {}
    if args.content is not None:
        try:
            text = args.content.read_text("utf-8")
            loaded = (
                json.loads(text) if args.content.suffix.lower() == ".json" else tomllib.loads(text)
            )
        except (OSError, ValueError) as exc:
            raise CampaignError(f"cannot read {args.content}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise CampaignError(f"{args.content}: expected a table per language")
        content = {k: dict(v) if isinstance(v, dict) else v for k, v in loaded.items()}
    for locale in LOCALES:
        words = content.setdefault(locale, {})
        given = {
            "title": getattr(args, f"title_{locale}"),
            "body_paragraphs": getattr(args, f"body_{locale}") or None,
            "cta_url": args.cta_url,
            "cta_label": getattr(args, f"cta_label_{locale}"),
        }
        words.update({k: v for k, v in given.items() if v})
    return content


async def _create(args: argparse.Namespace, settings: Settings) -> int:
    content = content_from(args)
    db = await open_database(settings, MIGRATIONS)
    try:
        campaign = await campaigns.create_campaign(
            db,
            name=args.name,
            template=args.template,
            subjects={"en": args.subject_en, "ko": args.subject_ko},
            content=content,
            audience={"plans": args.plan} if args.plan else {},
            rate_per_s=args.rate,
            created_by=args.created_by,
            app_url=settings.public_url,
        )
    finally:
        await db.dispose()
    audience = ", ".join(campaign.audience.get("plans", [])) or "every plan"
    print(campaign.id)
    print(
        f"created campaign {campaign.name!r} ({campaign.template}; {audience}; "
        f"{campaign.rate_per_s:g}/s): send it with `pingvas-mail campaign send {campaign.id}`",
        file=sys.stderr,
    )
    return 0


async def _send(args: argparse.Namespace, settings: Settings) -> int:
    db = await open_database(settings, MIGRATIONS)
    try:
        result = await campaigns.send(
            db,
            args.id,
            progress=not args.no_progress,
            rate_per_s=args.rate,
            settings=settings,
        )
    finally:
        await db.dispose()
    print(
        f"campaign {result.campaign_id}: {result.status}; {result.total} recipients, "
        f"{result.queued} queued now, {result.skipped} skipped now, {result.pending} pending"
    )
    return 0


async def _list(args: argparse.Namespace, settings: Settings) -> int:
    db = await open_database(settings, MIGRATIONS)
    try:
        rows = [
            (c, await campaigns.progress_of(db, c.id)) for c in await campaigns.list_campaigns(db)
        ]
    finally:
        await db.dispose()
    if args.json:
        print(json.dumps([_as_json(c, p) for c, p in rows], ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("no campaigns yet")
        return 0
    print(f"{'id':36}  {'status':8}  {'queued/total':>12}  {'rate':>5}  {'created':16}  name")
    for c, p in rows:
        done = f"{p.queued + p.skipped}/{p.total or c.total}"
        print(
            f"{c.id:36}  {c.status:8}  {done:>12}  {c.rate_per_s:>5g}  "
            f"{_when(c.created_at):16}  {c.name}"
        )
    return 0


def _render_templates(args: argparse.Namespace) -> int:
    from .templates.review import main as review

    index = review(args.out)
    print(f"wrote every template in every language; open {index or args.out}")
    return 0


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pingvas-mail", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    commands = parser.add_subparsers(dest="command", required=True)

    campaign = commands.add_parser("campaign", help="newsletter campaigns")
    actions = campaign.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a draft campaign (prints its id)")
    create.add_argument("--name", required=True)
    create.add_argument(
        "--template",
        default=DEFAULT_TEMPLATE,
        help=f"the template to render (default: {DEFAULT_TEMPLATE})",
    )
    create.add_argument("--subject-en", required=True, help="the subject in English")
    create.add_argument("--subject-ko", required=True, help="the subject in Korean")
    for locale, language in (("en", "English"), ("ko", "Korean")):
        create.add_argument(
            f"--body-{locale}",
            action="append",
            default=[],
            help=f"a paragraph in {language} (repeat for several)",
        )
        create.add_argument(
            f"--title-{locale}", help=f"the heading in {language} (default: the subject)"
        )
        create.add_argument(f"--cta-label-{locale}", help=f"the button's words in {language}")
    create.add_argument("--cta-url", help="where the button goes (default: the app)")
    create.add_argument(
        "--content", type=Path, help="the words from a TOML or JSON file (see above)"
    )
    create.add_argument(
        "--plan",
        action="append",
        default=[],
        help="only people in a team on this plan (repeat for several; default: every plan)",
    )
    create.add_argument(
        "--rate",
        type=_positive,
        default=DEFAULT_RATE_PER_S,
        help=f"messages queued per second (default: {DEFAULT_RATE_PER_S:g})",
    )
    create.add_argument("--created-by", default=_user(), help="who made it (default: $USER)")

    send = actions.add_parser(
        "send", help="fix the audience (first time) and queue the messages; resumes"
    )
    send.add_argument("id")
    send.add_argument("--rate", type=_positive, help="per second, for this run only")
    send.add_argument("--no-progress", action="store_true", help="no progress bar")

    listing = actions.add_parser("list", help="campaigns, newest first")
    listing.add_argument("--json", action="store_true")

    render = commands.add_parser(
        "render-templates", help="render every template with sample data, for review"
    )
    render.add_argument("out", type=Path, help="the folder to write them to")
    return parser


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(
        Settings.service_name, level="INFO" if args.verbose else "WARNING", json=False
    )
    if args.command == "render-templates":
        return _render_templates(args)
    settings = load_settings()
    run = {"create": _create, "send": _send, "list": _list}[args.action]
    try:
        return asyncio.run(run(args, settings))
    except CampaignError as exc:
        print(f"pingvas-mail: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\npingvas-mail: stopped; `campaign send` again resumes with the pending ones",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
