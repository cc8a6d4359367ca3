"""Dependencies as Annotated aliases that read like English: `ctx: Ctx`, `me: Creator`."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from pingvas_kit.identity import Identity, TenantIdentity
from pingvas_kit.problems import ROLE_REQUIRED, SCOPE_MISSING
from pingvas_kit.service import ServiceContext

from ..adapters.progress import ProgressHub
from ..adapters.s3 import ImageStore
from ..catalog import Catalog
from ..domain.errors import EmailNotVerified, Forbidden, NotAuthenticated
from ..domain.jobs import Who
from ..settings import Settings
from ..usecases import Jobs


@dataclass
class Context(ServiceContext[Settings]):
    """What the routes work with, built once in app.py."""

    jobs: Jobs
    hub: ProgressHub
    store: ImageStore
    catalog: Catalog


def _context(request: Request) -> Context:
    return request.app.state.render


Ctx = Annotated[Context, Depends(_context)]


def _who(identity: Identity) -> Who:
    assert identity.tenant_id is not None
    assert identity.kind != "anonymous"  # TenantIdentity is an authenticated caller
    return Who(
        tenant_id=identity.tenant_id,
        kind=identity.kind,
        principal_id=identity.principal_id,
        roles=identity.roles if identity.kind == "user" else (),
    )


def _scoped(scope: str | None):  # noqa: ANN202
    async def caller(identity: TenantIdentity) -> Who:
        if scope is not None and not identity.has_scope(scope):
            raise Forbidden(
                f"This API key lacks the {scope} scope.", code=SCOPE_MISSING, scope=scope
            )
        return _who(identity)

    return Depends(caller)


async def _creator(identity: TenantIdentity) -> Who:
    """Who may queue generations: a member with a verified email, or a key with the scope
    made by a person with a verified email (the identity's `evf` for a key: tenants answers it
    from the creator's account when the gateway checks the key)."""
    if identity.kind == "user":
        if not identity.email_verified:
            raise EmailNotVerified("Verify your email address before generating images.")
        if not identity.has_role("member"):
            raise Forbidden("This needs the member role.", code=ROLE_REQUIRED, role="member")
    else:
        if not identity.has_scope("generations:write"):
            raise Forbidden(
                "This API key lacks the generations:write scope.",
                code=SCOPE_MISSING,
                scope="generations:write",
            )
        if not identity.email_verified:
            raise EmailNotVerified(
                "The person who created this API key has not verified their email address."
            )
    return _who(identity)


Creator = Annotated[Who, Depends(_creator)]
JobWriter = Annotated[Who, _scoped("generations:write")]
JobReader = Annotated[Who, _scoped("generations:read")]
ImageReader = Annotated[Who, _scoped("images:read")]
ImageWriter = Annotated[Who, _scoped("images:write")]
AnyCaller = Annotated[Who, _scoped(None)]


async def _worker(request: Request, ctx: Ctx) -> None:
    """The internal API answers only callers with the worker token."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    expected = ctx.settings.worker_token_value()
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise NotAuthenticated("A worker token is required.")


Worker = Depends(_worker)
