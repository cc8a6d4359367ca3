"""Invitations by email: admins send them, the invitee looks one up and accepts it (signing
up on the way when they have no account)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import APIRouter, Response

from pingvas_contracts.events.tenants import MemberInvited, MemberJoined
from pingvas_kit.identity import CurrentIdentity

from ..adapters import repository as repo
from ..domain import roles, tokens
from ..domain.errors import Conflict, EmailNotVerified, Forbidden, Gone, Invalid, NotFound
from .deps import Admin, Ctx
from .schemas import AcceptInvitationIn, InvitationIn, InvitationOut, InvitationPreview, TokenPair
from .sessions import emit, emit_user_registered, issue_pair

router = APIRouter(prefix="/api/v1/invitations", tags=["invitations"])


@router.get("")
async def list_invitations(me: Admin, ctx: Ctx) -> list[InvitationOut]:
    async with ctx.db.sessionmaker() as session:
        rows = await repo.invitations_of_tenant(session, tenant_id=me.tenant_id)
    at = repo.now()
    return [
        InvitationOut(
            id=r.id,
            email=r.email,
            role=r.role,
            created_at=repo.aware(r.created_at),
            expires_at=repo.aware(r.expires_at),
            expired=repo.aware(r.expires_at) <= at,
        )
        for r in rows
    ]


@router.post("", status_code=201)
async def invite(body: InvitationIn, me: Admin, ctx: Ctx) -> InvitationOut:
    roles.check_can_invite(me.role, body.role)
    token = tokens.new_link_token()
    at = repo.now()
    expires_at = at + timedelta(seconds=ctx.settings.invitation_ttl)
    invitation_id = repo.new_id()
    async with ctx.db.transaction() as session:
        existing = await repo.find_user_by_email(session, body.email)
        if existing is not None and await repo.get_membership(
            session, tenant_id=me.tenant_id, user_id=existing.id
        ):
            raise Conflict("This person is already a member of the team.")
        inviter = await repo.get_user(session, user_id=me.user_id)
        if inviter.email_verified_at is None:
            # the database, not the token's evf (up to 15 minutes old): whoever has not proven
            # an address sends no mail to others
            raise EmailNotVerified("Verify your email address before inviting people.")
        tenant = await repo.get_tenant(session, tenant_id=me.tenant_id)
        await repo.insert_invitation(
            session,
            id=invitation_id,
            tenant_id=me.tenant_id,
            email=body.email,
            role=body.role,
            token_hash=tokens.digest(token),
            invited_by=me.user_id,
            created_at=at,
            expires_at=expires_at,
        )
        await repo.audit(
            session,
            tenant_id=me.tenant_id,
            action="invitation.sent",
            actor_id=me.user_id,
            target_type="invitation",
            target_id=invitation_id,
            ip=me.ip,
            details={"email": body.email, "role": body.role},
        )
        await emit(
            session,
            ctx,
            MemberInvited(
                invitation_id=invitation_id,
                email=body.email,
                role=body.role,
                tenant_name=me.tenant_name,
                invited_by_user_id=me.user_id,
                invited_by_name=inviter.name,
                locale=existing.locale if existing else tenant.locale,
                accept_url=ctx.link(f"/invitations/{token}"),
                expires_at=expires_at,
                invited_at=at,
            ),
            tenant_id=me.tenant_id,
        )
    return InvitationOut(
        id=invitation_id,
        email=body.email,
        role=body.role,
        created_at=at,
        expires_at=expires_at,
        expired=False,
    )


@router.delete("/{invitation_id}", status_code=204)
async def revoke_invitation(invitation_id: str, me: Admin, ctx: Ctx) -> Response:
    async with ctx.db.transaction() as session:
        if not await repo.revoke_invitations(
            session, tenant_id=me.tenant_id, invitation_id=invitation_id
        ):
            raise NotFound("No such open invitation.")
        await repo.audit(
            session,
            tenant_id=me.tenant_id,
            action="invitation.revoked",
            actor_id=me.user_id,
            target_type="invitation",
            target_id=invitation_id,
            ip=me.ip,
        )
    return Response(status_code=204)


@router.get("/{token}")
async def preview_invitation(token: str, identity: CurrentIdentity, ctx: Ctx) -> InvitationPreview:
    async with ctx.db.sessionmaker() as session:
        row = await repo.find_invitation(session, tokens.digest(token))
    if row is None or row.revoked_at is not None:
        raise NotFound("No such invitation.")
    return InvitationPreview(
        tenant_name=row.tenant_name,
        email=row.email,
        role=row.role,
        expired=repo.aware(row.expires_at) <= repo.now(),
        accepted=row.accepted_at is not None,
    )


@router.post("/{token}/accept")
async def accept_invitation(
    token: str, identity: CurrentIdentity, ctx: Ctx, body: AcceptInvitationIn | None = None
) -> TokenPair:
    if identity.kind == "api_key":
        raise Forbidden("Only people can accept invitations.")
    password_hash = None
    if identity.kind == "anonymous":
        if body is None or not body.name or not body.password:
            raise Invalid("Give your name and a password to create your account, or log in first.")
        password_hash = await asyncio.to_thread(ctx.passwords.hash, body.password)
    async with ctx.db.transaction() as session:
        invitation = await repo.find_invitation(session, tokens.digest(token))
        if invitation is None or invitation.revoked_at is not None:
            raise NotFound("No such invitation.")
        if invitation.accepted_at is not None:
            raise Gone("This invitation has already been used.")
        if repo.aware(invitation.expires_at) <= repo.now():
            raise Gone("This invitation has expired. Ask for a new one.")
        tenant_id = invitation.tenant_id
        tenant = await repo.get_tenant(session, tenant_id=tenant_id)
        if identity.kind == "user":
            user = await repo.get_user(session, user_id=identity.principal_id)
            if user is None or user.email != invitation.email:
                raise Forbidden("This invitation was sent to another address.")
        else:
            if await repo.find_user_by_email(session, invitation.email) is not None:
                raise Conflict("An account with this address exists. Log in to accept.")
            # the token came by mail to this address, so the address is proven
            user = await repo.insert_user(
                session,
                email=invitation.email,
                name=body.name,
                locale=body.locale or tenant.locale,
                password_hash=password_hash,
                verified=True,
            )
            await emit_user_registered(
                session, ctx, user=user, via="invitation", tenant_id=tenant_id
            )
        if await repo.get_membership(session, tenant_id=tenant_id, user_id=user.id) is not None:
            raise Conflict("You are already a member of this team.")
        if not await repo.accept_invitation(session, invitation_id=invitation.id, user_id=user.id):
            raise Gone("This invitation has already been used.")
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
            ip=identity.client_ip,
            details={"role": invitation.role},
        )
        await emit(
            session,
            ctx,
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
