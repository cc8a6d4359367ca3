"""Dependencies as Annotated aliases that read like English: `ctx: Ctx`, `me: Owner`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from pingvas_kit.identity import CurrentIdentity, Identity, require_role
from pingvas_kit.service import ServiceContext

from ..plans import Plans
from ..settings import Settings
from ..usecases.webhooks import Processor


@dataclass
class Context(ServiceContext[Settings]):
    """What the routes work with, built once in app.py."""

    plans: Plans
    processor: Processor


def _context(request: Request) -> Context:
    return request.app.state.billing


Ctx = Annotated[Context, Depends(_context)]


async def _signed_in(identity: CurrentIdentity) -> Identity:
    if identity.kind == "anonymous":
        raise HTTPException(401, "Log in first.")
    return identity


SignedIn = Annotated[Identity, Depends(_signed_in)]
#: a user with the member role (or above) in the tenant of the identity
Member = Annotated[Identity, require_role("member")]
#: the tenant's owner
Owner = Annotated[Identity, require_role("owner")]
