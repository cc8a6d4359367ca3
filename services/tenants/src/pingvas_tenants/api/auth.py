"""Sign-up, e-mail verification, log-in, refresh, log-out, tenant switch, password reset.

Public routes accept the gateway's `anonymous` identity; a request without any valid
identity is refused by the kit before it gets here."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Response

from pingvas_kit.http import problem_responses
from pingvas_kit.identity import CurrentIdentity
from pingvas_kit.logging import get_logger

from .. import usecases
from ..domain import passwords
from .deps import Ctx, Person
from .schemas import (
    EmailVerified,
    LoginIn,
    LogoutIn,
    PasswordPolicyOut,
    PasswordResetConfirmIn,
    PasswordResetIn,
    RefreshIn,
    SignupAccepted,
    SignupIn,
    SwitchTenantIn,
    TokenPair,
    VerificationRequestIn,
    VerifyEmailIn,
)
from .sessions import token_pair

log = get_logger("pingvas.tenants.auth")
router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

SIGNUP_ACCEPTED = SignupAccepted(
    detail=(
        "Check your inbox for a link to confirm your address, then log in with your email "
        "and password."
    )
)


@router.post(
    "/signup",
    status_code=202,
    summary="Sign up",
    responses=problem_responses(422),
)
async def signup(
    body: SignupIn, identity: CurrentIdentity, ctx: Ctx, background: BackgroundTasks
) -> SignupAccepted:
    """The same answer, after the same work, for a new and an already registered address, so
    that sign-up cannot be used to find out who has an account, by its answer or its time: no
    tokens (the person verifies and logs in); the password is hashed, and everything that
    depends on the address (the look-up, the new account, the mail) happens after the answer
    is sent."""
    passwords.require_acceptable(body.password, email=body.email, name=body.name)
    password_hash = await asyncio.to_thread(ctx.passwords.hash, body.password)
    background.add_task(
        _after_answer,
        "signup",
        usecases.sign_up,
        ctx,
        email=body.email,
        name=body.name,
        team_name=body.team_name,
        locale=body.locale,
        password_hash=password_hash,
    )
    return SIGNUP_ACCEPTED


async def _after_answer(
    what: str, work: Callable[..., Awaitable[None]], *args: Any, **kwargs: Any
) -> None:
    """Work that must not change how long the answer takes; its failure is logged (the
    person asks again: sign-up and reset are both safe to repeat)."""
    try:
        await work(*args, **kwargs)
    except Exception:
        log.exception(f"auth.{what}_failed")


@router.post(
    "/verify-email",
    summary="Verify an email address",
    description=(
        "Confirms the address with the token from the verification mail's link. The link works "
        "once; an expired or used one is 400 `invalid-link` (ask for a new one). With the "
        "verified person's `refresh_token` (a browser's pv_rt cookie, added by the gateway) the "
        "session is renewed in the same answer, so generating works at once."
    ),
    responses=problem_responses(400, 422),
    response_model_exclude_none=True,
)
async def verify_email(body: VerifyEmailIn, identity: CurrentIdentity, ctx: Ctx) -> EmailVerified:
    """The renewed pair, when there is one, rotates the session's refresh token like
    /auth/refresh does."""
    pair = await usecases.verify_email(ctx, token=body.token, refresh_token=body.refresh_token)
    if pair is None:
        return EmailVerified()
    return EmailVerified(
        access_token=pair.access_token,
        token_type="bearer",
        expires_in=pair.expires_in,
        refresh_token=pair.refresh_token,
    )


@router.post(
    "/verify-email/resend",
    status_code=202,
    summary="Send the verification mail again",
    description=(
        "A new verification link to the caller's address (the older ones stop working). Limited "
        "to a few a day: 429 with `Retry-After` beyond that."
    ),
    responses=problem_responses(403, 429),
)
async def resend_verification(identity: Person, ctx: Ctx) -> dict[str, str]:
    await usecases.resend_verification(
        ctx, user_id=identity.principal_id, tenant_id=identity.tenant_id
    )
    return {"status": "accepted"}


@router.post(
    "/verify-email/request",
    status_code=202,
    summary="Ask for a verification mail by address",
    description=(
        "For someone whose link is used or expired and who is not logged in: a new link to the "
        "address, when it has an account that is not verified yet. The same answer either way; "
        "at most one link a minute and five an hour per account, and a limit per client IP."
    ),
    responses=problem_responses(422, 429),
)
async def request_verification(
    body: VerificationRequestIn, identity: CurrentIdentity, ctx: Ctx, background: BackgroundTasks
) -> dict[str, str]:
    """The same answer, after the same work, whether or not the address has an account."""
    background.add_task(
        _after_answer,
        "verification_request",
        usecases.resend_verification_to,
        ctx,
        email=body.email,
    )
    return {"status": "accepted"}


@router.get(
    "/password-policy",
    summary="The password rule",
    description=(
        "What sign-up, invitations, reset and password change accept: the length limits, and "
        "that common passwords and ones containing the person's name or address are refused. "
        "A refused password is 422 with `code` `password-too-short`, `password-too-long`, "
        "`password-too-weak` or `password-contains-personal`."
    ),
    responses=problem_responses(429),
)
async def password_policy(identity: CurrentIdentity) -> PasswordPolicyOut:
    """Public: the sign-up and reset forms show it before anyone is signed in."""
    return PasswordPolicyOut(**passwords.policy())


@router.post(
    "/login",
    summary="Log in",
    description=(
        "Email and password for an access token (15 minutes) and a refresh token. `tenant_id` "
        "picks the team to act in (else the person's first). A wrong address or password is the "
        "same 401 either way; repeated failures make each further attempt wait (429 "
        "`login_delayed`)."
    ),
    responses=problem_responses(401, 422),
)
async def login(body: LoginIn, identity: CurrentIdentity, ctx: Ctx) -> TokenPair:
    return token_pair(
        await usecases.log_in(
            ctx,
            email=body.email,
            password=body.password,
            tenant_id=body.tenant_id,
            ip=identity.client_ip,
        )
    )


@router.post(
    "/refresh",
    summary="Renew the tokens",
    description=(
        "A refresh token for a new pair; the old refresh token is used up (rotation). An ended "
        "session (log-out, password reset, removal) is 401."
    ),
    responses=problem_responses(401, 422),
)
async def refresh(body: RefreshIn, identity: CurrentIdentity, ctx: Ctx) -> TokenPair:
    return token_pair(await usecases.refresh_session(ctx, refresh_token=body.refresh_token))


@router.post(
    "/logout",
    status_code=204,
    summary="Log out",
    description="Ends the session: its refresh token and, at the gateway, its access token stop working.",
    responses=problem_responses(422),
)
async def logout(identity: CurrentIdentity, ctx: Ctx, body: LogoutIn | None = None) -> Response:
    await usecases.log_out(
        ctx,
        user_id=identity.principal_id if identity.kind == "user" else None,
        session_id=identity.session_id,
        refresh_token=body.refresh_token if body is not None else None,
    )
    return Response(status_code=204)


@router.post(
    "/switch-tenant",
    summary="Act in another team",
    description="A new token pair for the same session in another team the person belongs to.",
    responses=problem_responses(403, 404, 422),
)
async def switch_tenant(body: SwitchTenantIn, identity: Person, ctx: Ctx) -> TokenPair:
    return token_pair(
        await usecases.switch_tenant(
            ctx,
            tenant_id=body.tenant_id,
            user_id=identity.principal_id,
            session_id=identity.session_id,
        )
    )


@router.post(
    "/password-reset",
    status_code=202,
    summary="Ask for a password reset",
    responses=problem_responses(422),
)
async def password_reset(
    body: PasswordResetIn, identity: CurrentIdentity, ctx: Ctx, background: BackgroundTasks
) -> dict[str, str]:
    """The same answer, after the same work, whether or not the address has an account: the
    look-up, the link and the mail happen after the answer is sent."""
    background.add_task(
        _after_answer, "password_reset", usecases.request_password_reset, ctx, email=body.email
    )
    return {"status": "accepted"}


@router.post(
    "/password-reset/confirm",
    status_code=204,
    summary="Set a new password",
    description=(
        "The token from the reset mail's link and the new password. Every session of the account "
        "ends; `revoke_api_keys` also revokes the API keys the person created. A used or expired "
        "link is 400 `invalid-link`."
    ),
    responses=problem_responses(400, 422),
)
async def password_reset_confirm(
    body: PasswordResetConfirmIn, identity: CurrentIdentity, ctx: Ctx
) -> Response:
    await usecases.reset_password(
        ctx,
        token=body.token,
        password=body.password,
        revoke_api_keys=body.revoke_api_keys,
        ip=identity.client_ip,
    )
    return Response(status_code=204)
