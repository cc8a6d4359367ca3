"""Dependencies as Annotated aliases: `ctx: Ctx`, `me: Searcher`, `op: Operator`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from pingvas_kit.http import CodedHTTPException
from pingvas_kit.identity import Identity, TenantIdentity, require_platform_role
from pingvas_kit.problems import SCOPE_MISSING
from pingvas_kit.service import ServiceContext

from ..adapters.s3 import Presigner
from ..engine import SearchEngine
from ..settings import Settings


@dataclass
class Context(ServiceContext[Settings]):
    """What the routes work with, built once in app.py."""

    engine: SearchEngine
    presigner: Presigner


def _context(request: Request) -> Context:
    return request.app.state.search


Ctx = Annotated[Context, Depends(_context)]


async def _searcher(identity: TenantIdentity) -> Identity:
    """A member of the team, or an API key with search:read; the tenant is the identity's."""
    if not identity.has_scope("search:read"):
        raise CodedHTTPException(
            403, SCOPE_MISSING, "This API key lacks the search:read scope.", scope="search:read"
        )
    return identity


Searcher = Annotated[Identity, Depends(_searcher)]
Operator = Annotated[Identity, require_platform_role("operator")]
