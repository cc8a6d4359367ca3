"""Sign-up, e-mail verification, log-in, refresh, log-out, tenant switch, password reset.

Sign-up and the reset request run after their answer is sent (see api/auth.py): they must
take the same time whether or not the address has an account, and both are safe to repeat."""

from __future__ import annotations

import asyncio
import math
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts.events.tenants import (
    MemberJoined,
    TenantCreated,
    UserPasswordChanged,
    UserPasswordResetRequested,
    UserVerificationRequested,
)
from pingvas_kit.logging import get_logger

from ..adapters import repository as repo
from ..domain import names, passwords, tokens
from ..domain.errors import Invalid, InvalidLink, NotAuthenticated, NotFound, TooManyRequests
from ._context import Context
from ._sessions import SignedIn, announce_registered, issue_pair, new_email_token, revoke_keys

log = get_logger("pingvas.tenants.auth")

WRONG_CREDENTIALS = "Wrong email or password."

#: verification mail per account: at most one link a minute and five an hour (sign-up's
#: counts), so that resend cannot be used to flood someone's inbox
RESEND_EVERY = timedelta(minutes=1)
RESEND_PER_HOUR = 5


async def _request_verification(
    session: AsyncSession, ctx: Context, *, user: sa.Row, tenant_id: str | None
) -> None:
    """A fresh single-use verification link (older ones stop working), sent by mail."""
    token, at, expires_at = await new_email_token(
        session, user_id=user.id, purpose="verify", ttl=ctx.settings.verification_ttl
    )
    await ctx.runtime.outbox.add(
        session,
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


async def sign_up(
    ctx: Context, *, email: str, name: str, team_name: str, locale: str, password_hash: str
) -> None:
    """A new team, its owner and a verification link; nothing at all (but a log line naming
    the account) for an address that already has one."""
    try:
        async with ctx.db.transaction() as session:
            existing = await repo.find_user_by_email(session, email)
            if existing is None:
                await _register(
                    session,
                    ctx,
                    email=email,
                    name=name,
                    team_name=team_name,
                    locale=locale,
                    password_hash=password_hash,
                )
    except sa.exc.IntegrityError:
        # two sign-ups with one address at once: the unique index decided for the other one
        async with ctx.db.sessionmaker() as session:
            existing = await repo.find_user_by_email(session, email)
        if existing is None:
            raise
    if existing is not None:
        # nothing is created and nothing is sent; the log names the account, never the address
        log.info("auth.signup_existing_email", user_id=existing.id)


async def _register(
    session: AsyncSession,
    ctx: Context,
    *,
    email: str,
    name: str,
    team_name: str,
    locale: str,
    password_hash: str,
) -> None:
    """A new tenant, its owner and the membership; the events, and the verification link."""
    slug = names.slug_base(team_name)
    while await repo.slug_taken(session, slug):
        slug = names.slug_with_suffix(names.slug_base(team_name))
    tenant = await repo.insert_tenant(session, name=team_name, slug=slug, locale=locale)
    user = await repo.insert_user(
        session, email=email, name=name, locale=locale, password_hash=password_hash
    )
    await repo.add_membership(session, tenant_id=tenant.id, user_id=user.id, role="owner")
    await ctx.runtime.outbox.add(
        session,
        TenantCreated(
            name=tenant.name,
            slug=tenant.slug,
            owner_user_id=user.id,
            owner_email=user.email,
            owner_display_name=user.name,
            locale=locale,
            created_at=repo.aware(tenant.created_at),
        ),
        tenant_id=tenant.id,
    )
    await announce_registered(session, ctx, user=user, via="signup", tenant_id=tenant.id)
    await ctx.runtime.outbox.add(
        session,
        MemberJoined(
            user_id=user.id,
            email=user.email,
            display_name=user.name,
            role="owner",
            joined_at=repo.aware(user.created_at),
        ),
        tenant_id=tenant.id,
    )
    await _request_verification(session, ctx, user=user, tenant_id=tenant.id)


async def verify_email(
    ctx: Context, *, token: str, refresh_token: str | None = None
) -> SignedIn | None:
    """The address of the link's account is proven; InvalidLink for a used or stale link.
    With `refresh_token` of that same person's live session, the session's next token pair
    (its access token says "verified"); None otherwise (another person's session, or none:
    the link works in any browser)."""
    async with ctx.db.transaction() as session:
        user_id = await repo.consume_email_token(
            session, token_hash=tokens.digest(token), purpose="verify"
        )
        if user_id is None:
            raise InvalidLink("This verification link is not valid any more. Ask for a new one.")
        user = await repo.get_user(session, user_id=user_id)
        if user is not None and user.email_verified_at is None:
            await repo.update_user(session, user_id=user_id, email_verified_at=repo.now())
        row = (
            await repo.get_refresh_token(session, tokens.digest(refresh_token))
            if refresh_token
            else None
        )
    if row is None or row.user_id != user_id or row.used_at is not None:
        return None
    try:
        return await refresh_session(ctx, refresh_token=refresh_token or "")
    except NotAuthenticated:
        return None


async def resend_verification(ctx: Context, *, user_id: str, tenant_id: str | None) -> None:
    """Another verification link for an unverified account, within the resend limits."""
    async with ctx.db.transaction() as session:
        user = await repo.get_user(session, user_id=user_id)
        if user is not None and user.email_verified_at is None:
            _check_resend_allowed(
                await repo.email_token_times(
                    session,
                    user_id=user.id,
                    purpose="verify",
                    since=repo.now() - timedelta(hours=1),
                )
            )
            await _request_verification(session, ctx, user=user, tenant_id=tenant_id)


async def resend_verification_to(ctx: Context, *, email: str) -> None:
    """Another verification link for the address's account when it has one and is not yet
    verified, within the same resend limits; nothing otherwise. Runs after the answer (the
    caller cannot tell which), so a refusal by the limits is only logged."""
    async with ctx.db.transaction() as session:
        user = await repo.find_user_by_email(session, email)
        if user is None or user.email_verified_at is not None:
            return
        times = await repo.email_token_times(
            session, user_id=user.id, purpose="verify", since=repo.now() - timedelta(hours=1)
        )
        try:
            _check_resend_allowed(times)
        except TooManyRequests:
            log.info("auth.verification_resend_limited", user_id=user.id)
            return
        memberships = await repo.memberships_of_user(session, user_id=user.id)
        await _request_verification(
            session,
            ctx,
            user=user,
            tenant_id=memberships[0].tenant_id if memberships else None,
        )


def _check_resend_allowed(times: list[datetime]) -> None:
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


async def log_in(
    ctx: Context, *, email: str, password: str, tenant_id: str | None, ip: str | None
) -> SignedIn:
    """A new session in `tenant_id` (or the person's first team); every attempt is in the
    audit log of the team it was for. NotAuthenticated, with one message, for every failure."""
    async with ctx.db.sessionmaker() as session:
        user = await repo.find_user_by_email(session, email)
    # an unknown address is hashed against a dummy: same work, same time
    ok = await asyncio.to_thread(
        ctx.passwords.verify, user.password_hash if user else None, password
    )
    pair = None
    async with ctx.db.transaction() as session:
        memberships = await repo.memberships_of_user(session, user_id=user.id) if user else []
        chosen = memberships[0] if memberships else None
        reason = None if ok else ("unknown_email" if user is None else "wrong_password")
        if tenant_id is not None:
            chosen = next((m for m in memberships if m.tenant_id == tenant_id), None)
            if ok and chosen is None:
                ok, reason = False, "not_a_member"
        # a failed attempt is shown to the admins of the tenant the person would have entered
        audit_tenant = (
            chosen.tenant_id if chosen else (memberships[0].tenant_id if memberships else None)
        )
        if not ok or user is None:
            await repo.audit(
                session,
                tenant_id=audit_tenant,
                action="login.failed",
                actor_id=user.id if user else None,
                actor_kind="user" if user else None,
                target_type="user" if user else None,
                target_id=user.id if user else None,
                ip=ip,
                details={"reason": reason},
            )
        else:
            if ctx.passwords.needs_rehash(user.password_hash):
                rehashed = await asyncio.to_thread(ctx.passwords.hash, password)
                await repo.update_user(session, user_id=user.id, password_hash=rehashed)
            tenant = await repo.get_tenant(session, tenant_id=chosen.tenant_id) if chosen else None
            await repo.audit(
                session,
                tenant_id=audit_tenant,
                action="login.succeeded",
                actor_id=user.id,
                target_type="user",
                target_id=user.id,
                ip=ip,
            )
            pair = await issue_pair(
                session, ctx, user=user, tenant=tenant, role=chosen.role if chosen else None
            )
    if pair is None:
        raise NotAuthenticated(WRONG_CREDENTIALS, code="wrong-credentials")
    return pair


async def refresh_session(ctx: Context, *, refresh_token: str) -> SignedIn:
    """The next token pair of the refresh token's session; a reused token ends the whole
    session. NotAuthenticated when the session has ended."""
    token_hash = tokens.digest(refresh_token)
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
            if user is None or (row.tenant_id is not None and membership is None):
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
        raise NotAuthenticated("This session has ended. Log in again.", code="session-ended")
    return pair


async def log_out(
    ctx: Context, *, user_id: str | None, session_id: str | None, refresh_token: str | None
) -> None:
    """The caller's session ends (the one of the access token, and the refresh token's)."""
    async with ctx.db.transaction() as session:
        if user_id is not None and session_id:
            await repo.revoke_refresh_tokens(session, family_id=session_id, user_id=user_id)
        if refresh_token:
            row = await repo.get_refresh_token(session, tokens.digest(refresh_token))
            if row is not None:
                await repo.revoke_refresh_tokens(session, family_id=row.family_id)


async def switch_tenant(
    ctx: Context, *, tenant_id: str, user_id: str, session_id: str | None
) -> SignedIn:
    """A new session in another of the person's teams; the old one ends."""
    async with ctx.db.transaction() as session:
        membership = await repo.get_membership(session, tenant_id=tenant_id, user_id=user_id)
        user = await repo.get_user(session, user_id=user_id)
        if membership is None or user is None:
            raise NotFound("No such team.")
        tenant = await repo.get_tenant(session, tenant_id=tenant_id)
        if session_id:
            # one session, one tenant: the old family ends with the switch
            await repo.revoke_refresh_tokens(session, family_id=session_id, user_id=user_id)
        return await issue_pair(session, ctx, user=user, tenant=tenant, role=membership.role)


async def request_password_reset(ctx: Context, *, email: str) -> None:
    """A reset link by mail, when the address has an account; nothing otherwise."""
    async with ctx.db.transaction() as session:
        user = await repo.find_user_by_email(session, email)
        if user is not None:
            token, at, expires_at = await new_email_token(
                session, user_id=user.id, purpose="reset", ttl=ctx.settings.password_reset_ttl
            )
            memberships = await repo.memberships_of_user(session, user_id=user.id)
            await ctx.runtime.outbox.add(
                session,
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


async def reset_password(
    ctx: Context, *, token: str, password: str, revoke_api_keys: bool, ip: str | None
) -> None:
    """The link's account gets the new password and every one of its sessions ends; an owner
    may end the team's API keys with it. InvalidLink for a used or stale link; Invalid for a
    password the rule refuses (the link stays usable)."""
    passwords.require_acceptable(password)
    password_hash = await asyncio.to_thread(ctx.passwords.hash, password)
    async with ctx.db.transaction() as session:
        user_id = await repo.consume_email_token(
            session, token_hash=tokens.digest(token), purpose="reset"
        )
        user = await repo.get_user(session, user_id=user_id) if user_id is not None else None
        if user_id is None or user is None:
            raise InvalidLink("This reset link is not valid any more. Ask for a new one.")
        # raised in the transaction: the link is not used up
        passwords.require_acceptable(password, email=user.email, name=user.name)
        at = repo.now()
        await repo.update_user(
            session,
            user_id=user_id,
            password_hash=password_hash,
            password_changed_at=at,
            # following the mailed link proves the address
            email_verified_at=user.email_verified_at or at,
        )
        await _announce_password_changed(session, ctx, user=user, via="reset", at=at)
        # every session of the account ends: whoever had the old password is out. The
        # refresh families are revoked, and the access tokens already out stop working at
        # the gateway within seconds: they carry the old token version (`uver`)
        await repo.revoke_refresh_tokens(session, user_id=user_id)
        await repo.raise_token_version(session, user_id=user_id)
        for membership in await repo.memberships_of_user(session, user_id=user_id):
            # only an owner may end the team's keys this way; anyone else's flag is ignored
            details = None
            if revoke_api_keys and membership.role == "owner":
                revoked = await revoke_keys(
                    session,
                    ctx,
                    await repo.live_api_keys(session, tenant_id=membership.tenant_id),
                    tenant_id=membership.tenant_id,
                    by_user_id=user_id,
                    reason="password_reset",
                    at=at,
                    audit_ip=ip,
                    audit=True,
                )
                details = {"revoke_api_keys": True, "api_keys_revoked": len(revoked)}
            await repo.audit(
                session,
                tenant_id=membership.tenant_id,
                action="password.reset",
                actor_id=user_id,
                target_type="user",
                target_id=user_id,
                ip=ip,
                details=details,
            )


async def _announce_password_changed(
    session: AsyncSession, ctx: Context, *, user: sa.Row, via: str, at: datetime
) -> None:
    """`user.password_changed`: mail tells the person (who may not have done it)."""
    memberships = await repo.memberships_of_user(session, user_id=user.id)
    await ctx.runtime.outbox.add(
        session,
        UserPasswordChanged(
            user_id=user.id,
            email=user.email,
            display_name=user.name,
            locale=user.locale,
            via=via,
            changed_at=at,
        ),
        tenant_id=memberships[0].tenant_id if memberships else None,
    )


async def change_password(
    ctx: Context,
    *,
    user_id: str,
    tenant_id: str | None,
    current_password: str,
    new_password: str,
    ip: str | None,
) -> SignedIn:
    """A signed-in person sets a new password with their current one. Every session of the
    account ends (whoever else had the old password is out) and the caller gets a new one in
    the team they act in; mail tells them. Invalid `wrong-current-password` when the current
    password is wrong, Invalid (the rule's code) when the new one is refused."""
    async with ctx.db.sessionmaker() as session:
        user = await repo.get_user(session, user_id=user_id)
    if user is None:
        raise NotAuthenticated("Log in first.")
    ok = await asyncio.to_thread(ctx.passwords.verify, user.password_hash, current_password)
    if not ok:
        raise Invalid(
            "The current password is not right.",
            code="wrong-current-password",
            field="current_password",
        )
    passwords.require_acceptable(new_password, email=user.email, name=user.name)
    password_hash = await asyncio.to_thread(ctx.passwords.hash, new_password)
    async with ctx.db.transaction() as session:
        at = repo.now()
        await repo.update_user(
            session, user_id=user_id, password_hash=password_hash, password_changed_at=at
        )
        await repo.revoke_refresh_tokens(session, user_id=user_id)
        await repo.raise_token_version(session, user_id=user_id)
        memberships = await repo.memberships_of_user(session, user_id=user_id)
        for membership in memberships:
            await repo.audit(
                session,
                tenant_id=membership.tenant_id,
                action="password.changed",
                actor_id=user_id,
                target_type="user",
                target_id=user_id,
                ip=ip,
            )
        await _announce_password_changed(session, ctx, user=user, via="change", at=at)
        # read again: the token version the new access token must carry
        user = await repo.get_user(session, user_id=user_id)
        assert user is not None
        current = next((m for m in memberships if m.tenant_id == tenant_id), None)
        tenant = await repo.get_tenant(session, tenant_id=current.tenant_id) if current else None
        return await issue_pair(
            session, ctx, user=user, tenant=tenant, role=current.role if current else None
        )
