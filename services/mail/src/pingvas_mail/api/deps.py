"""Dependencies as Annotated aliases: `ctx: Ctx`, `me: Person`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from pingvas_kit.http import CodedHTTPException
from pingvas_kit.identity import CurrentIdentity, Identity
from pingvas_kit.problems import NOT_A_PERSON
from pingvas_kit.service import ServiceContext

from ..settings import Settings


@dataclass
class Context(ServiceContext[Settings]):
    """What the routes work with, built once in app.py."""


def _context(request: Request) -> Context:
    return request.app.state.mail


Ctx = Annotated[Context, Depends(_context)]


async def _person(identity: CurrentIdentity) -> Identity:
    if identity.kind == "anonymous":
        raise HTTPException(401, "Log in first.")
    if identity.kind != "user":
        raise CodedHTTPException(
            403, NOT_A_PERSON, "Notification preferences belong to a person, not an API key."
        )
    return identity


#: a signed-in person (preferences are theirs, whichever team they are in)
Person = Annotated[Identity, Depends(_person)]
