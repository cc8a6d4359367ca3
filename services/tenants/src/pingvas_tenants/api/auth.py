"""Sign-up, e-mail verification, log-in, refresh, log-out, tenant switch, password reset.

Public routes accept the gateway's `anonymous` identity; a request without any valid
identity is refused by the kit before it gets here."""

from __future__ import annotations

import asyncio
import math
from datetime import datetime, timedelta

import sqlalchemy as sa
from fastapi import APIRouter, BackgroundTasks, Response

from pingvas_contracts.events.tenants import (
    MemberJoined,
    TenantCreated,
    UserPasswordResetRequested,
    UserVerificationRequested,
)
from pingvas_kit.identity import CurrentIdentity
from pingvas_kit.logging import get_logger

from ..adapters import repository as repo
from ..domain import names, tokens
from ..domain.errors import InvalidLink, NotAuthenticated, NotFound, TooManyRequests
from .deps import Context, Ctx, Person
from .schemas import (
    LoginIn,
    LogoutIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    RefreshIn,
    SignupAccepted,
    SignupIn,
    SwitchTenantIn,
    TokenIn,
    TokenPair,
)
from .sessions import emit, emit_user_registered, issue_pair, new_email_token, revoke_keys

log = get_logger("pingvas.tenants.auth")
router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

WRONG_CREDENTIALS = "Wrong email or password."

#: verification mail per account: at most one link a minute and five an hour (sign-up's
#: counts), so that resend cannot be used to flood someone's inbox
RESEND_EVERY = timedelta(minutes=1)
RESEND_PER_HOUR = 5


async def request_verification(
    session, ctx: Context, *, user: sa.Row, tenant_id: str | None
) -> None:
    """A fresh single-use verification link (older ones stop working), sent by mail."""
    token, at, expires_at = await new_email_token(
        session, user_id=user.id, purpose="verify", ttl=ctx.settings.verification_ttl
    )
    await emit(
        session,
        ctx,
        UserVerificationRequested(
            user_id=user.id,
            email=user.email,
            display_name=user.name,
            locale=user.locale,
            verification_url=ctx.link(f"/verify-email?token={token}"),
            expires_at=expires_at,
            requested_at=at,
        ),
        tenant_id=tenant_id,
    )


SIGNUP_ACCEPTED = SignupAccepted(
    detail=(
        "Check your inbox for a link to confirm your address, then log in with your email "
        "and password."
    )
)


@router.post("/signup", status_code=202)
async def signup(
    body: SignupIn, identity: CurrentIdentity, ctx: Ctx, background: BackgroundTasks
) -> SignupAccepted:
    """The same answer, after the same work, for a new and an already registered address, so
    that sign-up cannot be used to find out who has an account, by its answer or its time: no
    tokens (the person verifies and logs in); the password is hashed, and everything that
    depends on the address (the look-up, the new account, the mail) happens after the answer
    is sent."""
    password_hash = await asyncio.to_thread(ctx.passwords.hash, body.password)
    background.add_task(_after_answer, "signup", _signup, ctx, body, password_hash)
    return SIGNUP_ACCEPTED


async def _after_answer(what: str, work, *args) -> None:  # noqa: ANN001
    """Work that must not change how long the answer takes; its failure is logged (the
    person asks again: sign-up and reset are both safe to repeat)."""
    try:
        await work(*args)
    except Exception:
        log.exception(f"auth.{what}_failed")


async def _signup(ctx: Context, body: SignupIn, password_hash: str) -> None:
    try:
        async with ctx.db.transaction() as session:
            existing = await repo.find_user_by_email(session, body.email)
            if existing is None:
                await _register(session, ctx, body=body, password_hash=password_hash)
    except sa.exc.IntegrityError:
        # two sign-ups with one address at once: the unique index decided for the other one
        async with ctx.db.sessionmaker() as session:
            existing = await repo.find_user_by_email(session, body.email)
        if existing is None:
            raise
    if existing is not None:
        # nothing is created and nothing is sent; the log names the account, never the address
        log.info("auth.signup_existing_email", user_id=existing.id)


async def _register(session, ctx: Context, *, body: SignupIn, password_hash: str) -> None:
    """A new tenant, its owner and the membership; the events, and the verification link."""
    slug = names.slug_base(body.team_name)
    while await repo.slug_taken(session, slug):
        slug = names.slug_with_suffix(names.slug_base(body.team_name))
    tenant = await repo.insert_tenant(session, name=body.team_name, slug=slug, locale=body.locale)
    user = await repo.insert_user(
        session,
        email=body.email,
        name=body.name,
        locale=body.locale,
        password_hash=password_hash,
    )
    await repo.add_membership(session, tenant_id=tenant.id, user_id=user.id, role="owner")
    await emit(
        session,
        ctx,
        TenantCreated(
            name=tenant.name,
            slug=tenant.slug,
            owner_user_id=user.id,
            owner_email=user.email,
            owner_display_name=user.name,
            locale=body.locale,
            created_at=repo.aware(tenant.created_at),
        ),
        tenant_id=tenant.id,
    )
    await emit_user_registered(session, ctx, user=user, via="signup", tenant_id=tenant.id)
    await emit(
        session,
        ctx,
        MemberJoined(
            user_id=user.id,
            email=user.email,
            display_name=user.name,
            role="owner",
            joined_at=repo.aware(user.created_at),
        ),
        tenant_id=tenant.id,
    )
    await request_verification(session, ctx, user=user, tenant_id=tenant.id)


@router.post("/verify-email")
async def verify_email(body: TokenIn, identity: CurrentIdentity, ctx: Ctx) -> dict[str, bool]:
    async with ctx.db.transaction() as session:
        user_id = await repo.consume_email_token(
            session, token_hash=tokens.digest(body.token), purpose="verify"
        )
        if user_id is None:
            raise InvalidLink("This verification link is not valid any more. Ask for a new one.")
        user = await repo.get_user(session, user_id=user_id)
        if user.email_verified_at is None:
            await repo.update_user(session, user_id=user_id, email_verified_at=repo.now())
    return {"email_verified": True}


@router.post("/verify-email/resend", status_code=202)
async def resend_verification(identity: Person, ctx: Ctx) -> dict[str, str]:
    async with ctx.db.transaction() as session:
        user = await repo.get_user(session, user_id=identity.principal_id)
        if user is not None and user.email_verified_at is None:
            _check_resend_allowed(
                await repo.email_token_times(
                    session,
                    user_id=user.id,
                    purpose="verify",
                    since=repo.now() - timedelta(hours=1),
                )
            )
            await request_verification(session, ctx, user=user, tenant_id=identity.tenant_id)
    return {"status": "accepted"}


def _check_resend_allowed(times: list) -> None:
    """429 with Retry-After when the last link is under a minute old or five went out in the
    last hour (`times`: when the links of the last hour were made, oldest first)."""
    at = repo.now()
    wait = timedelta(0)
    if times and at - times[-1] < RESEND_EVERY:
        wait = RESEND_EVERY - (at - times[-1])
    if len(times) >= RESEND_PER_HOUR:
        wait = max(wait, times[-RESEND_PER_HOUR] + timedelta(hours=1) - at)
    if wait > timedelta(0):
        seconds = max(1, math.ceil(wait.total_seconds()))
        raise TooManyRequests(
            "A verification link was sent a moment ago. Check your inbox, or try again later.",
            headers={"Retry-After": str(seconds)},
        )


@router.post("/login")
async def login(body: LoginIn, identity: CurrentIdentity, ctx: Ctx) -> TokenPair:
    async with ctx.db.sessionmaker() as session:
        user = await repo.find_user_by_email(session, body.email)
    # an unknown address is hashed against a dummy: same work, same time
    ok = await asyncio.to_thread(
        ctx.passwords.verify, user.password_hash if user else None, body.password
    )
    pair = None
    async with ctx.db.transaction() as session:
        memberships = await repo.memberships_of_user(session, user_id=user.id) if user else []
        chosen = memberships[0] if memberships else None
        reason = None if ok else ("unknown_email" if user is None else "wrong_password")
        if body.tenant_id is not None:
            chosen = next((m for m in memberships if m.tenant_id == body.tenant_id), None)
            if ok and chosen is None:
                ok, reason = False, "not_a_member"
        # a failed attempt is shown to the admins of the tenant the person would have entered
        audit_tenant = (
            chosen.tenant_id if chosen else (memberships[0].tenant_id if memberships else None)
        )
        if not ok:
            await repo.audit(
                session,
                tenant_id=audit_tenant,
                action="login.failed",
                actor_id=user.id if user else None,
                actor_kind="user" if user else None,
                target_type="user" if user else None,
                target_id=user.id if user else None,
                ip=identity.client_ip,
                details={"reason": reason},
            )
        else:
            if ctx.passwords.needs_rehash(user.password_hash):
                rehashed = await asyncio.to_thread(ctx.passwords.hash, body.password)
                await repo.update_user(session, user_id=user.id, password_hash=rehashed)
            tenant = await repo.get_tenant(session, tenant_id=chosen.tenant_id) if chosen else None
            await repo.audit(
                session,
                tenant_id=audit_tenant,
                action="login.succeeded",
                actor_id=user.id,
                target_type="user",
                target_id=user.id,
                ip=identity.client_ip,
            )
            pair = await issue_pair(
                session, ctx, user=user, tenant=tenant, role=chosen.role if chosen else None
            )
    if pair is None:
        raise NotAuthenticated(WRONG_CREDENTIALS)
    return pair


@router.post("/refresh")
async def refresh(body: RefreshIn, identity: CurrentIdentity, ctx: Ctx) -> TokenPair:
    token_hash = tokens.digest(body.refresh_token)
    pair = None
    async with ctx.db.transaction() as session:
        row = await repo.get_refresh_token(session, token_hash)
        if row is None:
            pass
        elif row.used_at is not None or row.revoked_at is not None:
            # reuse of a rotated token: someone holds a copy, so the whole session ends
            await repo.revoke_refresh_tokens(session, family_id=row.family_id)
            if row.revoked_at is None:
                log.warning("auth.refresh_reuse", session_id=row.family_id, user_id=row.user_id)
        elif repo.aware(row.expires_at) <= repo.now():
            pass
        elif not await repo.use_refresh_token(session, token_hash):
            await repo.revoke_refresh_tokens(session, family_id=row.family_id)
        else:
            user = await repo.get_user(session, user_id=row.user_id)
            membership = None
            if row.tenant_id is not None:
                membership = await repo.get_membership(
                    session, tenant_id=row.tenant_id, user_id=row.user_id
                )
            if row.tenant_id is not None and membership is None:
                # removed from the team, or the team was deleted
                await repo.revoke_refresh_tokens(session, family_id=row.family_id)
            else:
                tenant = (
                    await repo.get_tenant(session, tenant_id=row.tenant_id) if membership else None
                )
                pair = await issue_pair(
                    session,
                    ctx,
                    user=user,
                    tenant=tenant,
                    role=membership.role if membership else None,
                    family_id=row.family_id,
                )
    if pair is None:
        raise NotAuthenticated("This session has ended. Log in again.")
    return pair


@router.post("/logout", status_code=204)
async def logout(identity: CurrentIdentity, ctx: Ctx, body: LogoutIn | None = None) -> Response:
    async with ctx.db.transaction() as session:
        if identity.kind == "user" and identity.session_id:
            await repo.revoke_refresh_tokens(
                session, family_id=identity.session_id, user_id=identity.principal_id
            )
        if body is not None and body.refresh_token:
            row = await repo.get_refresh_token(session, tokens.digest(body.refresh_token))
            if row is not None:
                await repo.revoke_refresh_tokens(session, family_id=row.family_id)
    return Response(status_code=204)


@router.post("/switch-tenant")
async def switch_tenant(body: SwitchTenantIn, identity: Person, ctx: Ctx) -> TokenPair:
    async with ctx.db.transaction() as session:
        membership = await repo.get_membership(
            session, tenant_id=body.tenant_id, user_id=identity.principal_id
        )
        if membership is None:
            raise NotFound("No such team.")
        user = await repo.get_user(session, user_id=identity.principal_id)
        tenant = await repo.get_tenant(session, tenant_id=body.tenant_id)
        if identity.session_id:
            # one session, one tenant: the old family ends with the switch
            await repo.revoke_refresh_tokens(
                session, family_id=identity.session_id, user_id=identity.principal_id
            )
        return await issue_pair(session, ctx, user=user, tenant=tenant, role=membership.role)


@router.post("/password-reset", status_code=202)
async def password_reset(
    body: PasswordResetIn, identity: CurrentIdentity, ctx: Ctx, background: BackgroundTasks
) -> dict[str, str]:
    """The same answer, after the same work, whether or not the address has an account: the
    look-up, the link and the mail happen after the answer is sent."""
    background.add_task(_after_answer, "password_reset", _password_reset, ctx, body)
    return {"status": "accepted"}


async def _password_reset(ctx: Context, body: PasswordResetIn) -> None:
    async with ctx.db.transaction() as session:
        user = await repo.find_user_by_email(session, body.email)
        if user is not None:
            token, at, expires_at = await new_email_token(
                session, user_id=user.id, purpose="reset", ttl=ctx.settings.password_reset_ttl
            )
            memberships = await repo.memberships_of_user(session, user_id=user.id)
            await emit(
                session,
                ctx,
                UserPasswordResetRequested(
                    user_id=user.id,
                    email=user.email,
                    display_name=user.name,
                    locale=user.locale,
                    reset_url=ctx.link(f"/reset-password?token={token}"),
                    expires_at=expires_at,
                    requested_at=at,
                ),
                tenant_id=memberships[0].tenant_id if memberships else None,
            )


@router.post("/password-reset/confirm", status_code=204)
async def password_reset_confirm(
    body: PasswordResetConfirmIn, identity: CurrentIdentity, ctx: Ctx
) -> Response:
    password_hash = await asyncio.to_thread(ctx.passwords.hash, body.password)
    async with ctx.db.transaction() as session:
        user_id = await repo.consume_email_token(
            session, token_hash=tokens.digest(body.token), purpose="reset"
        )
        if user_id is None:
            raise InvalidLink("This reset link is not valid any more. Ask for a new one.")
        user = await repo.get_user(session, user_id=user_id)
        at = repo.now()
        await repo.update_user(
            session,
            user_id=user_id,
            password_hash=password_hash,
            password_changed_at=at,
            # following the mailed link proves the address
            email_verified_at=user.email_verified_at or at,
        )
        # every session of the account ends: whoever had the old password is out. The
        # refresh families are revoked, and the access tokens already out stop working at
        # the gateway within seconds: they carry the old token version (`uver`)
        await repo.revoke_refresh_tokens(session, user_id=user_id)
        await repo.raise_token_version(session, user_id=user_id)
        for membership in await repo.memberships_of_user(session, user_id=user_id):
            # only an owner may end the team's keys this way; anyone else's flag is ignored
            details = None
            if body.revoke_api_keys and membership.role == "owner":
                revoked = await _revoke_team_keys(
                    session,
                    ctx,
                    tenant_id=membership.tenant_id,
                    user_id=user_id,
                    at=at,
                    ip=identity.client_ip,
                )
                details = {"revoke_api_keys": True, "api_keys_revoked": len(revoked)}
            await repo.audit(
                session,
                tenant_id=membership.tenant_id,
                action="password.reset",
                actor_id=user_id,
                target_type="user",
                target_id=user_id,
                ip=identity.client_ip,
                details=details,
            )
    return Response(status_code=204)


async def _revoke_team_keys(
    session, ctx: Context, *, tenant_id: str, user_id: str, at: datetime, ip: str | None
) -> list[str]:
    """Every live key of the team, revoked by its owner's password reset; each in the audit
    log and announced as `apikey.revoked` (reason `password_reset`). Their ids."""
    return await revoke_keys(
        session,
        ctx,
        await repo.live_api_keys(session, tenant_id=tenant_id),
        tenant_id=tenant_id,
        by_user_id=user_id,
        reason="password_reset",
        at=at,
        audit_ip=ip,
        audit=True,
    )
