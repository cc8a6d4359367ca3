"""Invitations by email: admins send them, the invitee looks one up and accepts it (signing
up on the way when they have no account)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from pingvas_kit.http import problem_responses
from pingvas_kit.identity import CurrentIdentity
from pingvas_kit.problems import NOT_A_PERSON

from .. import usecases
from ..adapters import repository as repo
from ..domain.errors import Forbidden, Invalid
from .deps import Admin, Ctx
from .schemas import AcceptInvitationIn, InvitationIn, InvitationOut, InvitationPreview, TokenPair
from .sessions import token_pair

router = APIRouter(prefix="/api/v1/invitations", tags=["invitations"])


@router.get(
    "",
    summary="List open invitations",
    description=(
        "Invitations sent and not yet accepted or revoked, with when each expires. Owners and "
        "admins."
    ),
    responses=problem_responses(403),
)
async def list_invitations(me: Admin, ctx: Ctx) -> list[InvitationOut]:
    rows = await usecases.list_invitations(ctx, tenant_id=me.tenant_id)
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


@router.post(
    "",
    status_code=201,
    summary="Invite someone",
    description=(
        "Sends an invitation mail to the address, for the role given (an admin cannot invite an "
        "owner). An address with an open invitation has that one renewed instead (the same id, "
        "a new link and expiry, the role given now, one mail; the old link stops working). 409 "
        "when the person is already a member. Owners and admins, with a verified address."
    ),
    responses=problem_responses(403, 404, 409, 422),
)
async def invite(body: InvitationIn, me: Admin, ctx: Ctx) -> InvitationOut:
    sent = await usecases.invite(
        ctx,
        tenant_id=me.tenant_id,
        tenant_name=me.tenant_name,
        inviter_id=me.user_id,
        inviter_role=me.role,
        email=body.email,
        role=body.role,
        ip=me.ip,
    )
    return _sent(sent)


def _sent(sent: usecases.SentInvitation) -> InvitationOut:
    return InvitationOut(
        id=sent.id,
        email=sent.email,
        role=sent.role,
        created_at=sent.created_at,
        expires_at=sent.expires_at,
        expired=False,
    )


@router.post(
    "/{invitation_id}/resend",
    summary="Resend an invitation",
    description=(
        "Mails the open invitation again with a new link and a new expiry; the old link stops "
        "working. 404 (`invitation-not-pending`) when it was accepted, revoked or never was. "
        "Owners and admins (an owner's invitation: owners)."
    ),
    responses=problem_responses(403, 404),
)
async def resend_invitation(invitation_id: str, me: Admin, ctx: Ctx) -> InvitationOut:
    sent = await usecases.resend_invitation(
        ctx,
        tenant_id=me.tenant_id,
        tenant_name=me.tenant_name,
        invitation_id=invitation_id,
        actor_id=me.user_id,
        actor_role=me.role,
        ip=me.ip,
    )
    return _sent(sent)


@router.delete(
    "/{invitation_id}",
    status_code=204,
    summary="Revoke an invitation",
    description=(
        "Its link stops working. 404 (`invitation-not-pending`) when it was accepted, revoked or "
        "never was. Owners and admins."
    ),
    responses=problem_responses(403, 404),
)
async def revoke_invitation(invitation_id: str, me: Admin, ctx: Ctx) -> Response:
    await usecases.revoke_invitation(
        ctx, tenant_id=me.tenant_id, invitation_id=invitation_id, actor_id=me.user_id, ip=me.ip
    )
    return Response(status_code=204)


@router.get(
    "/{token}",
    summary="Look at an invitation",
    description=(
        "What the invitation's link is for (team, address, role), for its accept page; no "
        "credentials needed, the token is the credential."
    ),
    responses=problem_responses(404),
)
async def preview_invitation(token: str, identity: CurrentIdentity, ctx: Ctx) -> InvitationPreview:
    row = await usecases.find_invitation(ctx, token=token)
    return InvitationPreview(
        tenant_name=row.tenant_name,
        email=row.email,
        role=row.role,
        expired=repo.aware(row.expires_at) <= repo.now(),
        accepted=row.accepted_at is not None,
    )


@router.post(
    "/{token}/accept",
    summary="Accept an invitation",
    description=(
        "Joins the team. Logged in: the account joins (the invitation must be for its address). "
        "Not logged in: give `name` and `password` to create the account at once. Answers a token"
        " pair acting in that team. 410 when the invitation is used or expired."
    ),
    responses=problem_responses(403, 404, 409, 410, 422),
)
async def accept_invitation(
    token: str, identity: CurrentIdentity, ctx: Ctx, body: AcceptInvitationIn | None = None
) -> TokenPair:
    if identity.kind == "api_key":
        raise Forbidden("Only people can accept invitations.", code=NOT_A_PERSON)
    if identity.kind == "user":
        signed_in = await usecases.accept_invitation(
            ctx, token=token, user_id=identity.principal_id, ip=identity.client_ip
        )
    else:
        if body is None or not body.name or not body.password:
            raise Invalid(
                "Give your name and a password to create your account, or log in first.",
                code="name-and-password-required",
            )
        signed_in = await usecases.accept_invitation(
            ctx,
            token=token,
            user_id=None,
            name=body.name,
            password=body.password,
            locale=body.locale,
            ip=identity.client_ip,
        )
    return token_pair(signed_in)
