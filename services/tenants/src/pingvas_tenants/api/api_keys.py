"""API keys for partners: shown once, stored hashed, listed by prefix, revocable."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response

from pingvas_contracts.events.tenants import ApiKeyCreated, ApiKeyRevoked
from pingvas_kit.identity import CurrentIdentity

from ..adapters import repository as repo
from ..domain import tokens
from ..domain.errors import EmailNotVerified, NotAuthenticated, NotFound
from .deps import Admin, Ctx
from .schemas import ApiKeyIn, ApiKeyOut, NewApiKeyOut, VerifiedApiKey, VerifyApiKeyIn
from .sessions import emit

router = APIRouter(prefix="/api/v1/api-keys", tags=["api-keys"])
internal = APIRouter(prefix="/internal/api-keys", tags=["internal"])

LAST_USED_EVERY = timedelta(minutes=1)


def _out(row) -> ApiKeyOut:
    return ApiKeyOut(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scopes=list(row.scopes),
        created_at=repo.aware(row.created_at),
        last_used_at=repo.aware(row.last_used_at),
        revoked_at=repo.aware(row.revoked_at),
    )


@router.get("")
async def list_api_keys(me: Admin, ctx: Ctx) -> list[ApiKeyOut]:
    async with ctx.db.sessionmaker() as session:
        rows = await repo.api_keys_of_tenant(session, tenant_id=me.tenant_id)
    return [_out(r) for r in rows]


@router.post("", status_code=201)
async def create_api_key(body: ApiKeyIn, me: Admin, ctx: Ctx) -> NewApiKeyOut:
    key, prefix = tokens.new_api_key()
    scopes = sorted(set(body.scopes))
    at = repo.now()
    key_id = repo.new_id()
    async with ctx.db.transaction() as session:
        creator = await repo.get_user(session, user_id=me.user_id)
        if creator is None or creator.email_verified_at is None:
            raise EmailNotVerified("Verify your email address before creating API keys.")
        await repo.insert_api_key(
            session,
            id=key_id,
            tenant_id=me.tenant_id,
            name=body.name,
            prefix=prefix,
            key_hash=tokens.digest(key),
            scopes=scopes,
            created_by=me.user_id,
            created_at=at,
        )
        await repo.audit(
            session,
            tenant_id=me.tenant_id,
            action="apikey.created",
            actor_id=me.user_id,
            target_type="api_key",
            target_id=key_id,
            ip=me.ip,
            details={"name": body.name, "prefix": prefix, "scopes": scopes},
        )
        await emit(
            session,
            ctx,
            ApiKeyCreated(
                api_key_id=key_id,
                name=body.name,
                prefix=prefix,
                scopes=scopes,
                created_by_user_id=me.user_id,
                created_at=at,
            ),
            tenant_id=me.tenant_id,
        )
    return NewApiKeyOut(
        id=key_id,
        name=body.name,
        prefix=prefix,
        scopes=scopes,
        created_at=at,
        last_used_at=None,
        revoked_at=None,
        key=key,
    )


@router.delete("/{api_key_id}", status_code=204)
async def revoke_api_key(api_key_id: str, me: Admin, ctx: Ctx) -> Response:
    at = repo.now()
    async with ctx.db.transaction() as session:
        row = await repo.get_api_key(session, tenant_id=me.tenant_id, api_key_id=api_key_id)
        if row is None:
            raise NotFound("No such API key.")
        if await repo.revoke_api_key(session, tenant_id=me.tenant_id, api_key_id=api_key_id, at=at):
            await repo.audit(
                session,
                tenant_id=me.tenant_id,
                action="apikey.revoked",
                actor_id=me.user_id,
                target_type="api_key",
                target_id=api_key_id,
                ip=me.ip,
                details={"name": row.name, "prefix": row.prefix},
            )
            await emit(
                session,
                ctx,
                ApiKeyRevoked(
                    api_key_id=api_key_id,
                    prefix=row.prefix,
                    revoked_by_user_id=me.user_id,
                    reason="user",
                    revoked_at=at,
                ),
                tenant_id=me.tenant_id,
            )
    return Response(status_code=204)


@internal.post("/verify")
async def verify_api_key(
    body: VerifyApiKeyIn, identity: CurrentIdentity, ctx: Ctx
) -> VerifiedApiKey:
    """For the gateway only (it alone holds the internal secret the identity is signed with)."""
    if not tokens.looks_like_api_key(body.key):
        raise NotAuthenticated("This API key is not valid.")
    key_hash = tokens.digest(body.key)
    async with ctx.db.sessionmaker() as session:
        row = await repo.find_live_api_key(session, key_hash)
    if row is None:
        raise NotAuthenticated("This API key is not valid.")
    at = repo.now()
    last = repo.aware(row.last_used_at)
    if last is None or at - last >= LAST_USED_EVERY:
        async with ctx.db.transaction() as session:
            await repo.touch_api_key(session, api_key_id=row.id, at=at, every=LAST_USED_EVERY)
    return VerifiedApiKey(
        api_key_id=row.id,
        tenant_id=row.tenant_id,
        scopes=list(row.scopes),
        name=row.name,
        email_verified=row.creator_verified_at is not None,
    )
