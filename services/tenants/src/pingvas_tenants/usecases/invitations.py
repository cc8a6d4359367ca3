"""Invitations by email: admins send and revoke them, the invitee accepts one (signing up on
the way when they have no account)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts.events.tenants import MemberInvited, MemberJoined

from ..adapters import repository as repo
from ..domain import passwords, roles, tokens
from ..domain.errors import Conflict, EmailNotVerified, Forbidden, Gone, NotFound
from ._context import Context
from ._sessions import SignedIn, announce_registered, issue_pair


@dataclass(frozen=True)
class SentInvitation:
    id: str
    email: str
    role: str
    created_at: datetime
    expires_at: datetime


async def list_invitations(ctx: Context, *, tenant_id: str) -> list[sa.Row]:
    """The team's open invitations (expired ones too, until revoked)."""
    async with ctx.db.sessionmaker() as session:
        return await repo.invitations_of_tenant(session, tenant_id=tenant_id)


async def invite(
    ctx: Context,
    *,
    tenant_id: str,
    tenant_name: str,
    inviter_id: str,
    inviter_role: str,
    email: str,
    role: str,
    ip: str | None,
) -> SentInvitation:
    """An invitation by mail to `email` for `role`; only from a verified address, never to a
    member already. An address with an open invitation has that one renewed (new link, new
    expiry, the role asked now, one mail): a team never holds two open invitations for one
    address."""
    roles.check_can_invite(inviter_role, role)
    async with ctx.db.transaction() as session:
        existing = await repo.find_user_by_email(session, email)
        if existing is not None and await repo.get_membership(
            session, tenant_id=tenant_id, user_id=existing.id
        ):
            raise Conflict("This person is already a member of the team.", code="already-member")
        pending = await repo.open_invitation(session, tenant_id=tenant_id, email=email)
        return await _send(
            session,
            ctx,
            tenant_id=tenant_id,
            tenant_name=tenant_name,
            inviter_id=inviter_id,
            email=email,
            role=role,
            renewing=pending.id if pending is not None else None,
            invitee_locale=existing.locale if existing else None,
            ip=ip,
        )


async def resend_invitation(
    ctx: Context,
    *,
    tenant_id: str,
    tenant_name: str,
    invitation_id: str,
    actor_id: str,
    actor_role: str,
    ip: str | None,
) -> SentInvitation:
    """The open invitation again, with a new link and expiry (the old link stops working);
    NotFound when there is no such open one."""
    async with ctx.db.transaction() as session:
        pending = await repo.open_invitation(
            session, tenant_id=tenant_id, invitation_id=invitation_id
        )
        if pending is None:
            raise NotFound("No such open invitation.", code="invitation-not-pending")
        # an admin may resend only what they could have sent (not an owner's invitation)
        roles.check_can_invite(actor_role, pending.role)
        existing = await repo.find_user_by_email(session, pending.email)
        return await _send(
            session,
            ctx,
            tenant_id=tenant_id,
            tenant_name=tenant_name,
            inviter_id=actor_id,
            email=pending.email,
            role=pending.role,
            renewing=pending.id,
            invitee_locale=existing.locale if existing else None,
            ip=ip,
        )


async def _send(
    session: AsyncSession,
    ctx: Context,
    *,
    tenant_id: str,
    tenant_name: str,
    inviter_id: str,
    email: str,
    role: str,
    renewing: str | None,
    invitee_locale: str | None,
    ip: str | None,
) -> SentInvitation:
    """A fresh link for `email`: a new invitation, or the open one `renewing` with a new
    token and expiry; audited, and one `member.invited` (one mail)."""
    inviter = await repo.get_user(session, user_id=inviter_id)
    if inviter is None or inviter.email_verified_at is None:
        # the database, not the token's evf (up to 15 minutes old): whoever has not proven
        # an address sends no mail to others
        raise EmailNotVerified("Verify your email address before inviting people.")
    tenant = await repo.get_tenant(session, tenant_id=tenant_id)
    if tenant is None:
        raise NotFound("No such team.")
    token = tokens.new_link_token()
    at = repo.now()
    expires_at = at + timedelta(seconds=ctx.settings.invitation_ttl)
    values = {
        "role": role,
        "token_hash": tokens.digest(token),
        "invited_by": inviter_id,
        "expires_at": expires_at,
    }
    if renewing is None:
        invitation_id = repo.new_id()
        await repo.insert_invitation(
            session, id=invitation_id, tenant_id=tenant_id, email=email, created_at=at, **values
        )
        action = "invitation.sent"
    else:
        invitation_id = renewing
        if not await repo.renew_invitation(
            session, tenant_id=tenant_id, invitation_id=invitation_id, **values
        ):
            raise NotFound("No such open invitation.", code="invitation-not-pending")
        action = "invitation.renewed"
    await repo.audit(
        session,
        tenant_id=tenant_id,
        action=action,
        actor_id=inviter_id,
        target_type="invitation",
        target_id=invitation_id,
        ip=ip,
        details={"email": email, "role": role},
    )
    await ctx.runtime.outbox.add(
        session,
        MemberInvited(
            invitation_id=invitation_id,
            email=email,
            role=role,
            tenant_name=tenant_name,
            invited_by_user_id=inviter_id,
            invited_by_name=inviter.name,
            locale=invitee_locale or tenant.locale,
            accept_url=ctx.link(f"/invitations/{token}"),
            expires_at=expires_at,
            invited_at=at,
        ),
        tenant_id=tenant_id,
    )
    return SentInvitation(
        id=invitation_id, email=email, role=role, created_at=at, expires_at=expires_at
    )


async def revoke_invitation(
    ctx: Context, *, tenant_id: str, invitation_id: str, actor_id: str, ip: str | None
) -> None:
    """The open invitation stops working; NotFound when there is no such open one."""
    async with ctx.db.transaction() as session:
        pending = await repo.open_invitation(
            session, tenant_id=tenant_id, invitation_id=invitation_id
        )
        if pending is None or not await repo.revoke_invitations(
            session, tenant_id=tenant_id, invitation_id=invitation_id
        ):
            raise NotFound("No such open invitation.", code="invitation-not-pending")
        await repo.audit(
            session,
            tenant_id=tenant_id,
            action="invitation.revoked",
            actor_id=actor_id,
            target_type="invitation",
            target_id=invitation_id,
            ip=ip,
            details={"email": pending.email, "role": pending.role},
        )


async def find_invitation(ctx: Context, *, token: str) -> sa.Row:
    """The invitation of a mailed link (with its team's name); NotFound once revoked."""
    async with ctx.db.sessionmaker() as session:
        row = await repo.find_invitation(session, tokens.digest(token))
    if row is None or row.revoked_at is not None:
        raise NotFound("No such invitation.")
    return row


async def accept_invitation(
    ctx: Context,
    *,
    token: str,
    user_id: str | None,
    name: str | None = None,
    password: str | None = None,
    locale: str | None = None,
    ip: str | None,
) -> SignedIn:
    """The logged-in person (`user_id`), or a new account made of `name` and `password`,
    joins the team with the invitation's role, in a new session there."""
    password_hash = None
    if user_id is None:
        if not name or not password:
            raise ValueError("a new account needs a name and a password")
        # the address is checked once the invitation is read; the rest before the hashing
        passwords.require_acceptable(password, name=name)
        password_hash = await asyncio.to_thread(ctx.passwords.hash, password)
    async with ctx.db.transaction() as session:
        invitation = await repo.find_invitation(session, tokens.digest(token))
        if invitation is None or invitation.revoked_at is not None:
            raise NotFound("No such invitation.")
        if invitation.accepted_at is not None:
            raise Gone("This invitation has already been used.", code="invitation-used")
        if repo.aware(invitation.expires_at) <= repo.now():
            raise Gone("This invitation has expired. Ask for a new one.", code="invitation-expired")
        tenant_id = invitation.tenant_id
        tenant = await repo.get_tenant(session, tenant_id=tenant_id)
        if tenant is None:
            raise NotFound("No such invitation.")
        if user_id is not None:
            user = await repo.get_user(session, user_id=user_id)
            if user is None or user.email != invitation.email:
                raise Forbidden(
                    "This invitation was sent to another address.", code="invitation-for-another"
                )
        else:
            if await repo.find_user_by_email(session, invitation.email) is not None:
                raise Conflict(
                    "An account with this address exists. Log in to accept.", code="account-exists"
                )
            if not name or password is None or password_hash is None:
                raise ValueError("a new account needs a name and a password")  # refused above
            passwords.require_acceptable(password, email=invitation.email, name=name)
            # the token came by mail to this address, so the address is proven
            user = await repo.insert_user(
                session,
                email=invitation.email,
                name=name,
                locale=locale or tenant.locale,
                password_hash=password_hash,
                verified=True,
            )
            await announce_registered(
                session, ctx, user=user, via="invitation", tenant_id=tenant_id
            )
        if await repo.get_membership(session, tenant_id=tenant_id, user_id=user.id) is not None:
            raise Conflict("You are already a member of this team.", code="already-member")
        if not await repo.accept_invitation(session, invitation_id=invitation.id, user_id=user.id):
            raise Gone("This invitation has already been used.", code="invitation-used")
        await repo.add_membership(
            session, tenant_id=tenant_id, user_id=user.id, role=invitation.role
        )
        await repo.audit(
            session,
            tenant_id=tenant_id,
            action="invitation.accepted",
            actor_id=user.id,
            target_type="invitation",
            target_id=invitation.id,
            ip=ip,
            details={"role": invitation.role},
        )
        await ctx.runtime.outbox.add(
            session,
            MemberJoined(
                user_id=user.id,
                email=user.email,
                display_name=user.name,
                role=invitation.role,
                invitation_id=invitation.id,
                joined_at=repo.now(),
            ),
            tenant_id=tenant_id,
        )
        return await issue_pair(session, ctx, user=user, tenant=tenant, role=invitation.role)
