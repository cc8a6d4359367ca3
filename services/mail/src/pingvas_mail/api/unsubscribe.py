"""One-click unsubscribe (RFC 8058; docs/mail.md, "Messages"): whoever holds the signed
link may turn that one preference off, without logging in. The route asks for no identity
at all (the gateway forwards it as anonymous, or not at all).

`GET` says what the link unsubscribes from; `POST` does it (what mail clients send for
`List-Unsubscribe-Post: List-Unsubscribe=One-Click`, and what the web app's page sends);
doing it twice is harmless."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from ..adapters import repository as repo
from ..domain import unsubscribe as tokens
from .deps import Ctx

router = APIRouter(prefix="/api/v1/mail", tags=["mail"])


class UnsubscribeOut(BaseModel):
    #: the preference the link turns off: job_completed | usage_notices | newsletter
    preference: str
    #: the address it concerns, partly hidden (j***@example.com); null when unknown
    email: str | None
    #: whether that mail is still on
    subscribed: bool


def _mask(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def _verify(ctx: Ctx, token: str) -> tuple[str, str]:
    try:
        return tokens.verify(ctx.settings, token)
    except tokens.BadToken:
        raise HTTPException(400, "This unsubscribe link is not valid.") from None


@router.get("/unsubscribe", response_model=UnsubscribeOut)
async def describe(ctx: Ctx, token: str = Query(min_length=8, max_length=512)) -> UnsubscribeOut:
    user_id, preference = _verify(ctx, token)
    async with ctx.db.sessionmaker() as session:
        person = await repo.recipient(session, user_id)
        prefs = await repo.get_preferences(session, user_id)
    return UnsubscribeOut(
        preference=preference,
        email=_mask(person.email if person else None),
        subscribed=prefs[preference],
    )


@router.post("/unsubscribe", response_model=UnsubscribeOut)
async def unsubscribe(ctx: Ctx, token: str = Query(min_length=8, max_length=512)) -> UnsubscribeOut:
    user_id, preference = _verify(ctx, token)
    async with ctx.db.transaction() as session:
        await repo.set_preferences(session, user_id, {preference: False})
        person = await repo.recipient(session, user_id)
    return UnsubscribeOut(
        preference=preference, email=_mask(person.email if person else None), subscribed=False
    )
