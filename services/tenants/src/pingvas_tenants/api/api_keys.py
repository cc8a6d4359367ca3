"""API keys for partners: shown once, stored hashed, listed by prefix, revocable."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Response

from pingvas_kit.http import problem_responses
from pingvas_kit.identity import CurrentIdentity

from .. import usecases
from ..adapters import repository as repo
from .deps import Admin, Ctx
from .schemas import ApiKeyIn, ApiKeyOut, NewApiKeyOut, VerifiedApiKey, VerifyApiKeyIn

router = APIRouter(prefix="/api/v1/api-keys", tags=["api-keys"])
internal = APIRouter(prefix="/internal/api-keys", tags=["internal"])


def _out(row: sa.Row) -> ApiKeyOut:
    return ApiKeyOut(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scopes=list(row.scopes),
        created_at=repo.aware(row.created_at),
        last_used_at=repo.aware(row.last_used_at),
        revoked_at=repo.aware(row.revoked_at),
    )


@router.get(
    "",
    summary="List API keys",
    description=(
        "The team's API keys, revoked ones included: name, prefix, scopes, when each was created "
        "and last used. The secret itself is never shown again. Owners and admins."
    ),
    responses=problem_responses(403),
)
async def list_api_keys(me: Admin, ctx: Ctx) -> list[ApiKeyOut]:
    return [_out(r) for r in await usecases.list_api_keys(ctx, tenant_id=me.tenant_id)]


@router.post(
    "",
    status_code=201,
    summary="Create an API key",
    description=(
        "A new key with the scopes given. The answer's `key` (`pvk_<prefix>_<secret>`) is shown "
        "this once only: store it; Pingvas keeps only its hash. Owners and admins, with a "
        "verified address."
    ),
    responses=problem_responses(403, 422),
)
async def create_api_key(body: ApiKeyIn, me: Admin, ctx: Ctx) -> NewApiKeyOut:
    new = await usecases.create_api_key(
        ctx,
        tenant_id=me.tenant_id,
        name=body.name,
        scopes=list(body.scopes),
        actor_id=me.user_id,
        ip=me.ip,
    )
    return NewApiKeyOut(
        id=new.id,
        name=new.name,
        prefix=new.prefix,
        scopes=new.scopes,
        created_at=new.created_at,
        last_used_at=None,
        revoked_at=None,
        key=new.key,
    )


@router.delete(
    "/{api_key_id}",
    status_code=204,
    summary="Revoke an API key",
    description=(
        "The key stops working at once (the gateway checks each request). It stays in the list, "
        "marked revoked. Owners and admins."
    ),
    responses=problem_responses(403, 404),
)
async def revoke_api_key(api_key_id: str, me: Admin, ctx: Ctx) -> Response:
    await usecases.revoke_api_key(
        ctx, tenant_id=me.tenant_id, api_key_id=api_key_id, actor_id=me.user_id, ip=me.ip
    )
    return Response(status_code=204)


@internal.post("/verify")
async def verify_api_key(
    body: VerifyApiKeyIn, identity: CurrentIdentity, ctx: Ctx
) -> VerifiedApiKey:
    """For the gateway only (it alone holds the internal secret the identity is signed with)."""
    row = await usecases.verify_api_key(ctx, key=body.key)
    return VerifiedApiKey(
        api_key_id=row.id,
        tenant_id=row.tenant_id,
        scopes=list(row.scopes),
        name=row.name,
        email_verified=row.creator_verified_at is not None,
    )
