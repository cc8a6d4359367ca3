"""The local run's inbox (`MAIL_DEV_INBOX=true`; never in production): what mail would
have sent, newest first, as a small HTML page and as JSON for tests and scripts. Only
mounted when the setting is on; otherwise these paths are 404."""

from __future__ import annotations

import html
import re
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, PlainTextResponse

from ..adapters import repository as repo
from .deps import Ctx

router = APIRouter(prefix="/dev/mail", tags=["dev"], include_in_schema=False)

_LINK = re.compile(r"https?://[^\s<>\"')\]]+")


def links(text: str) -> list[str]:
    """The URLs in a message's text, in order, each once."""
    seen: dict[str, None] = {}
    for match in _LINK.findall(text or ""):
        seen.setdefault(match.rstrip(".,;:!?"), None)
    return list(seen)


def _out(row: Any) -> dict[str, Any]:
    created = repo.aware(row.created_at)
    return {
        "id": row.id,
        "to": row.to_email,
        "subject": row.subject,
        "template": row.template,
        "category": row.category,
        "locale": row.locale,
        "status": row.status,
        "created_at": created.isoformat() if created else None,
        "html": row.html,
        "text": row.text,
        "links": links(row.text),
    }


@router.get("/messages")
async def list_messages(ctx: Ctx, limit: int = 100) -> list[dict[str, Any]]:
    async with ctx.db.sessionmaker() as session:
        rows = await repo.recent_messages(session, limit=max(1, min(limit, 500)))
    return [_out(r) for r in rows]


async def _one(ctx: Ctx, message_id: str) -> Any:
    async with ctx.db.sessionmaker() as session:
        row = await repo.message(session, message_id)
    if row is None:
        raise HTTPException(404, "No such message.")
    return row


@router.get("/messages/{message_id}/html", response_class=HTMLResponse)
async def message_html(ctx: Ctx, message_id: str) -> HTMLResponse:
    return HTMLResponse((await _one(ctx, message_id)).html)


@router.get("/messages/{message_id}/text", response_class=PlainTextResponse)
async def message_text(ctx: Ctx, message_id: str) -> PlainTextResponse:
    return PlainTextResponse((await _one(ctx, message_id)).text)


@router.get("", response_class=HTMLResponse)
async def inbox(ctx: Ctx) -> HTMLResponse:
    async with ctx.db.sessionmaker() as session:
        rows = await repo.recent_messages(session, limit=200)
    items = []
    for r in rows:
        e = html.escape
        created = repo.aware(r.created_at)
        items.append(
            "<tr>"
            f"<td>{e(created.strftime('%Y-%m-%d %H:%M:%S') if created else '')}</td>"
            f"<td>{e(r.to_email)}</td><td>{e(r.subject)}</td>"
            f"<td>{e(r.template)}</td><td>{e(r.locale)}</td><td>{e(r.status)}</td>"
            f'<td><a href="/dev/mail/messages/{e(r.id)}/html">HTML</a> · '
            f'<a href="/dev/mail/messages/{e(r.id)}/text">text</a></td>'
            "</tr>"
        )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Pingvas dev inbox</title>"
        "<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}</style></head><body>"
        f"<h1>Dev inbox</h1><p>{len(rows)} messages, newest first "
        "(<a href='/dev/mail/messages'>JSON</a>)</p>"
        "<table><tr><th>when</th><th>to</th><th>subject</th><th>template</th><th>locale</th>"
        "<th>status</th><th></th></tr>" + "".join(items) + "</table></body></html>"
    )
    return HTMLResponse(page)
