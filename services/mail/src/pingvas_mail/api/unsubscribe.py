"""One-click unsubscribe (RFC 8058; docs/mail.md, "Messages"): whoever holds the signed
link may turn that one preference off, without logging in. The route asks for no identity
at all (the gateway forwards it as anonymous, or not at all).

`GET` says what the link unsubscribes from; `POST` does it (what mail clients send for
`List-Unsubscribe-Post: List-Unsubscribe=One-Click`, and what the web app's page sends);
doing it twice is harmless."""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel

from pingvas_kit.http import CodedHTTPException, problem_responses

from ..domain.unsubscribe import BadToken
from ..usecases import preferences as usecase
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


def _answer(done: usecase.Unsubscription) -> UnsubscribeOut:
    return UnsubscribeOut(
        preference=done.preference, email=_mask(done.email), subscribed=done.subscribed
    )


_BAD_LINK = "This unsubscribe link is not valid."


@router.get(
    "/unsubscribe",
    response_model=UnsubscribeOut,
    summary="Look at an unsubscribe link",
    description=(
        "What the signed token of an unsubscribe link would turn off, and for which (masked) "
        "address; no credentials needed. 400 for a link that is not valid."
    ),
    responses=problem_responses(400, 422),
)
async def describe(ctx: Ctx, token: str = Query(min_length=8, max_length=512)) -> UnsubscribeOut:
    try:
        return _answer(await usecase.describe_unsubscribe(ctx.db, ctx.settings, token))
    except BadToken:
        raise CodedHTTPException(400, "invalid-link", _BAD_LINK) from None


@router.post(
    "/unsubscribe",
    response_model=UnsubscribeOut,
    summary="Unsubscribe (one click)",
    description=(
        "Turns off the kind of mail the token names (RFC 8058 one-click; doing it twice is "
        "harmless). No credentials needed: the signed token is the credential. 400 for a link "
        "that is not valid."
    ),
    responses=problem_responses(400, 422),
)
async def unsubscribe(ctx: Ctx, token: str = Query(min_length=8, max_length=512)) -> UnsubscribeOut:
    try:
        return _answer(await usecase.unsubscribe(ctx.db, ctx.settings, token))
    except BadToken:
        raise CodedHTTPException(400, "invalid-link", _BAD_LINK) from None
