"""Events published by the tenants context.

The tenant an event concerns travels in the envelope's `tenantid` attribute, not in
`data`. Passwords and raw API keys never appear in any event; the only secrets here are
the single-use links of the `*_requested` / `member.invited` events (see their docstrings).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..base import EventData, event
from ..types import SENSITIVE, DisplayName, Email, Id, Locale, Role, Timestamp, Url

Slug = Annotated[str, Field(min_length=2, max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")]
Scope = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z]+(:[a-z_]+)?$")]
KeyPrefix = Annotated[str, Field(min_length=4, max_length=32, pattern=r"^[A-Za-z0-9_]+$")]

_TENANT = "3f2b8c1e-6a7d-4e59-9c0b-2d1e4f6a8b9c"
_OWNER = "5d6f0f0e-3a8b-4d9a-8f0c-1b2a3c4d5e6f"
_MEMBER = "8a1c2e3f-4b5d-4c6e-9f70-81a2b3c4d5e6"


@event(
    "pingvas.tenants.tenant.created.v1",
    examples=[
        {
            "name": "하늘 스튜디오",
            "slug": "haneul-studio",
            "owner_user_id": _OWNER,
            "owner_email": "jiwoo.kim@haneul.example",
            "owner_display_name": "김지우",
            "locale": "ko",
            "plan": "free",
            "created_at": "2026-11-26T09:00:00Z",
        }
    ],
)
class TenantCreated(EventData):
    """A tenant (team workspace) was created together with its owner's membership.
    Billing opens the free plan and grants the starter credits; mail sends the welcome."""

    name: DisplayName = Field(description="tenant display name as the owner typed it")
    slug: Slug = Field(description="URL-safe unique handle of the tenant")
    owner_user_id: Id = Field(description="user who created the tenant and owns it")
    owner_email: Email = Field(description="owner's email address (verified or not)")
    owner_display_name: DisplayName = Field(description="owner's name, for greetings")
    locale: Locale = Field(description="tenant's default language for mail and UI")
    plan: Literal["free"] = Field(
        default="free", description="every tenant starts on the free plan"
    )
    created_at: Timestamp = Field(description="when the tenant was created")


@event(
    "pingvas.tenants.tenant.deleted.v1",
    examples=[
        {
            "slug": "haneul-studio",
            "deleted_by_user_id": _OWNER,
            "reason": "owner_request",
            "deleted_at": "2026-12-01T08:30:00Z",
        }
    ],
)
class TenantDeleted(EventData):
    """A tenant was deleted. Every consumer purges or anonymises what it holds for the
    tenant (render: jobs and images in S3; search: its documents; billing: cancels)."""

    slug: Slug = Field(description="handle the tenant had, for logs and operator tools")
    deleted_by_user_id: Id | None = Field(
        description="user who deleted it; null when an operator or a job did"
    )
    reason: Literal["owner_request", "operator", "non_payment", "inactivity"] = Field(
        description="why the tenant was deleted"
    )
    deleted_at: Timestamp = Field(description="when the tenant was deleted")


@event(
    "pingvas.tenants.user.registered.v1",
    examples=[
        {
            "user_id": _OWNER,
            "email": "jiwoo.kim@haneul.example",
            "display_name": "김지우",
            "locale": "ko",
            "via": "signup",
            "marketing_opt_in": False,
            "registered_at": "2026-11-26T09:00:00Z",
        },
        {
            "user_id": _MEMBER,
            "email": "alex@partner.example",
            "display_name": "Alex Park",
            "locale": "en",
            "via": "invitation",
            "marketing_opt_in": True,
            "registered_at": "2026-11-27T14:05:12Z",
        },
    ],
)
class UserRegistered(EventData):
    """A person created an account (by signing up or by accepting an invitation). The
    envelope's `tenantid` is the tenant they registered into."""

    user_id: Id = Field(description="new user's id")
    email: Email = Field(description="user's email address (not yet verified)")
    display_name: DisplayName = Field(description="user's name, for greetings")
    locale: Locale = Field(description="user's preferred language")
    via: Literal["signup", "invitation"] = Field(description="how the account was created")
    marketing_opt_in: bool = Field(
        default=False, description="whether the user agreed to receive product news"
    )
    registered_at: Timestamp = Field(description="when the account was created")


@event(
    "pingvas.tenants.user.preferences_changed.v1",
    examples=[
        {"user_id": _OWNER, "locale": "ko", "changed_at": "2026-12-07T14:30:00Z"},
    ],
)
class UserPreferencesChanged(EventData):
    """A person saved their preferences on the account page: mail to them is written in
    `locale` from now on, whichever team it is about and whoever caused it. The envelope's
    `tenantid` is the team they were acting in (a person's preferences are not a team's)."""

    user_id: Id = Field(description="user's id")
    locale: Locale = Field(description="the language the person reads their mail in")
    changed_at: Timestamp = Field(description="when the preferences were saved")


@event(
    "pingvas.tenants.user.verification_requested.v1",
    examples=[
        {
            "user_id": _OWNER,
            "email": "jiwoo.kim@haneul.example",
            "display_name": "김지우",
            "locale": "ko",
            "verification_url": "https://app.pingvas.dev/verify-email?token=vR3x9LqT0bN2kW7sZ1yC4dF6",
            "expires_at": "2026-11-27T09:00:00Z",
            "requested_at": "2026-11-26T09:00:00Z",
        }
    ],
)
class UserVerificationRequested(EventData):
    """A user needs to confirm their email address; mail sends the link.

    Security note: `verification_url` embeds a single-use, short-lived token, because
    the mail service must build the message and never sees the tenants database. The
    tenants service stores only the token's hash, the token dies at `expires_at` or on
    first use, and consumers other than mail must neither log nor persist the URL
    (it is marked `x-pingvas-sensitive` in the schema)."""

    user_id: Id = Field(description="user whose address is to be verified")
    email: Email = Field(description="address to verify and to send the link to")
    display_name: DisplayName = Field(description="user's name, for the greeting")
    locale: Locale = Field(description="language of the mail")
    verification_url: Url = Field(
        repr=False,
        description="link the user follows to verify; carries a single-use token",
        json_schema_extra=SENSITIVE,
    )
    expires_at: Timestamp = Field(description="when the link stops working")
    requested_at: Timestamp = Field(description="when the verification was requested")


@event(
    "pingvas.tenants.user.password_reset_requested.v1",
    examples=[
        {
            "user_id": _MEMBER,
            "email": "alex@partner.example",
            "display_name": "Alex Park",
            "locale": "en",
            "reset_url": "https://app.pingvas.dev/reset-password?token=Qm8uJ2pX5sN0aV3eH7tL1wY9",
            "expires_at": "2026-11-28T11:00:00Z",
            "requested_at": "2026-11-28T10:30:00Z",
        }
    ],
)
class UserPasswordResetRequested(EventData):
    """A user asked to reset their password; mail sends the reset link.

    Security note: `reset_url` embeds a single-use token valid for a short time (the
    tenants service keeps only its hash); mail needs it to build the message. Consumers
    other than mail must neither log nor persist it. No password, old or new, is ever in
    an event. The event is only published for an existing, active account; the HTTP
    answer to the request is the same either way."""

    user_id: Id = Field(description="user whose password may be reset")
    email: Email = Field(description="address to send the link to")
    display_name: DisplayName = Field(description="user's name, for the greeting")
    locale: Locale = Field(description="language of the mail")
    reset_url: Url = Field(
        repr=False,
        description="link to the reset form; carries a single-use token",
        json_schema_extra=SENSITIVE,
    )
    expires_at: Timestamp = Field(description="when the link stops working")
    requested_at: Timestamp = Field(description="when the reset was requested")


@event(
    "pingvas.tenants.user.password_changed.v1",
    examples=[
        {
            "user_id": _OWNER,
            "email": "jiwoo.kim@haneul.example",
            "display_name": "김지우",
            "locale": "ko",
            "via": "change",
            "changed_at": "2026-11-28T10:41:00Z",
        },
        {
            "user_id": _MEMBER,
            "email": "alex@partner.example",
            "display_name": "Alex Park",
            "locale": "en",
            "via": "reset",
            "changed_at": "2026-11-28T10:35:00Z",
        },
    ],
)
class UserPasswordChanged(EventData):
    """A user's password was changed: by them, signed in (`change`), or through a reset
    link (`reset`); mail tells them, so that someone who did not do it knows at once. Every
    other session of the account has ended. No password, old or new, is in the event."""

    user_id: Id = Field(description="user whose password changed")
    email: Email = Field(description="address to tell")
    display_name: DisplayName = Field(description="user's name, for the greeting")
    locale: Locale = Field(description="language of the mail")
    via: Literal["change", "reset"] = Field(
        description="signed in with the current password, or by a reset link"
    )
    changed_at: Timestamp = Field(description="when the password changed")


@event(
    "pingvas.tenants.member.invited.v1",
    examples=[
        {
            "invitation_id": "c0d1e2f3-a4b5-4c6d-8e7f-90a1b2c3d4e5",
            "email": "alex@partner.example",
            "role": "member",
            "tenant_name": "하늘 스튜디오",
            "invited_by_user_id": _OWNER,
            "invited_by_name": "김지우",
            "locale": "en",
            "accept_url": "https://app.pingvas.dev/invitations/accept?token=Zt4nB8cK2mR6vE0xP9gH3jS5",
            "expires_at": "2026-12-03T09:00:00Z",
            "invited_at": "2026-11-26T09:10:00Z",
        }
    ],
)
class MemberInvited(EventData):
    """Someone was invited to join a tenant; mail sends the invitation.

    Security note: `accept_url` embeds the invitation's single-use token (stored hashed
    by tenants) because mail must build the link; consumers other than mail must neither
    log nor persist it."""

    invitation_id: Id = Field(description="invitation id")
    email: Email = Field(description="invitee's address (may not have an account yet)")
    role: Role = Field(description="role the invitee gets on accepting")
    tenant_name: DisplayName = Field(description="name of the inviting tenant, for the mail")
    invited_by_user_id: Id = Field(description="member who sent the invitation")
    invited_by_name: DisplayName = Field(description="inviter's name, for the mail")
    locale: Locale = Field(description="language of the invitation mail")
    accept_url: Url = Field(
        repr=False,
        description="link to accept the invitation; carries a single-use token",
        json_schema_extra=SENSITIVE,
    )
    expires_at: Timestamp = Field(description="when the invitation lapses")
    invited_at: Timestamp = Field(description="when the invitation was sent")


@event(
    "pingvas.tenants.member.joined.v1",
    examples=[
        {
            "user_id": _MEMBER,
            "email": "alex@partner.example",
            "display_name": "Alex Park",
            "role": "member",
            "invitation_id": "c0d1e2f3-a4b5-4c6d-8e7f-90a1b2c3d4e5",
            "joined_at": "2026-11-27T14:05:12Z",
        }
    ],
)
class MemberJoined(EventData):
    """A user became a member of a tenant (accepted an invitation, or created it)."""

    user_id: Id = Field(description="new member")
    email: Email = Field(description="member's address")
    display_name: DisplayName = Field(description="member's name")
    role: Role = Field(description="member's role in the tenant")
    invitation_id: Id | None = Field(
        default=None, description="invitation accepted; null for the tenant's creator"
    )
    joined_at: Timestamp = Field(description="when the membership began")


@event(
    "pingvas.tenants.member.removed.v1",
    examples=[
        {
            "user_id": _MEMBER,
            "removed_by_user_id": _OWNER,
            "reason": "removed",
            "removed_at": "2026-12-10T16:20:00Z",
        },
        {
            "user_id": _MEMBER,
            "removed_by_user_id": _MEMBER,
            "reason": "left",
            "removed_at": "2026-12-11T07:45:00Z",
        },
    ],
)
class MemberRemoved(EventData):
    """A user's membership of a tenant ended. Their sessions and API keys in that tenant
    are revoked by tenants itself; consumers drop per-member state (e.g. mail preferences)."""

    user_id: Id = Field(description="former member")
    removed_by_user_id: Id | None = Field(
        description="who ended the membership (the member for `left`); null for an operator"
    )
    reason: Literal["removed", "left"] = Field(description="removed by an admin, or left")
    removed_at: Timestamp = Field(description="when the membership ended")


#: who may delete an image another member made: `own` (each member their own images,
#: admins and owners any), `any` (every member any image of the team)
ImageDeletion = Literal["own", "any"]


@event(
    "pingvas.tenants.tenant.settings_changed.v1",
    examples=[
        {
            "member_image_deletion": "any",
            "changed_by_user_id": _OWNER,
            "changed_at": "2026-12-07T09:00:00Z",
        }
    ],
)
class TenantSettingsChanged(EventData):
    """An admin changed the team's settings; the event carries all of them (the state,
    not the difference). Render enforces `member_image_deletion` when someone deletes an
    image; a team it never heard of has the defaults."""

    member_image_deletion: ImageDeletion = Field(
        description="whether a member may delete another member's images (`any`) or only "
        "their own (`own`, the default); admins and owners always may"
    )
    changed_by_user_id: Id | None = Field(description="admin who changed them")
    changed_at: Timestamp = Field(
        description="when; a consumer keeps the latest (events may arrive out of order)"
    )


@event(
    "pingvas.tenants.apikey.created.v1",
    examples=[
        {
            "api_key_id": "e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9",
            "name": "partner-backend prod",
            "prefix": "pv_live_7Hk2",
            "scopes": ["generations:write", "images:read"],
            "created_by_user_id": _OWNER,
            "expires_at": None,
            "created_at": "2026-11-26T10:00:00Z",
        }
    ],
)
class ApiKeyCreated(EventData):
    """An API key was issued for a tenant. The key itself is shown once to its creator
    and stored hashed; events carry only its id and visible prefix."""

    api_key_id: Id = Field(description="API key id")
    name: DisplayName = Field(description="label the creator gave the key")
    prefix: KeyPrefix = Field(description="visible, non-secret prefix of the key")
    scopes: list[Scope] = Field(
        min_length=1, description="what the key may do, e.g. `generations:write`"
    )
    created_by_user_id: Id = Field(description="member who created the key")
    expires_at: Timestamp | None = Field(
        default=None, description="when the key stops working; null for no expiry"
    )
    created_at: Timestamp = Field(description="when the key was created")


@event(
    "pingvas.tenants.apikey.revoked.v1",
    examples=[
        {
            "api_key_id": "e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9",
            "prefix": "pv_live_7Hk2",
            "revoked_by_user_id": _OWNER,
            "reason": "user",
            "revoked_at": "2026-12-02T12:00:00Z",
        }
    ],
)
class ApiKeyRevoked(EventData):
    """An API key stopped working. Caches of key lookups (gateway) drop it at once."""

    api_key_id: Id = Field(description="API key id")
    prefix: KeyPrefix = Field(description="visible prefix, for audit logs")
    revoked_by_user_id: Id | None = Field(
        description="member who revoked it; null when revoked automatically"
    )
    reason: Literal[
        "user", "expired", "compromised", "member_removed", "tenant_deleted", "password_reset"
    ] = Field(description="why the key was revoked (`password_reset`: the team owner's reset)")
    revoked_at: Timestamp = Field(description="when the key was revoked")


class Recipient(BaseModel):
    """A person to tell, in their language."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    email: Email = Field(description="their address")
    display_name: DisplayName = Field(description="their name, for the greeting")
    locale: Locale = Field(description="language of the mail")


@event(
    "pingvas.tenants.webhook.disabled.v1",
    examples=[
        {
            "endpoint_id": "0d3f5a7b-9c1e-4f2a-8b6d-1e3f5a7b9c2d",
            "url": "https://partner.example.com/pingvas/webhooks",
            "reason": "failing",
            "failing_since": "2026-11-28T09:00:00Z",
            "consecutive_failures": 41,
            "owners": [{"email": "owner@example.com", "display_name": "김하늘", "locale": "ko"}],
            "settings_url": "https://app.pingvas.dev/settings/webhooks",
            "disabled_at": "2026-12-03T09:00:00Z",
        }
    ],
)
class WebhookDisabled(EventData):
    """Pingvas stopped sending to a team's webhook endpoint: the receiver answered 410 Gone
    (`gone`), or every delivery failed for 5 days (`failing`). Mail tells the owners."""

    endpoint_id: Id = Field(description="webhook endpoint id")
    url: Url = Field(description="the endpoint's URL")
    reason: Literal["gone", "failing"] = Field(description="why it was disabled")
    failing_since: Timestamp | None = Field(description="first failure of the streak")
    consecutive_failures: int = Field(ge=0, description="attempts failed in a row")
    owners: list[Recipient] = Field(description="the team's owners, to be told")
    settings_url: Url = Field(description="where to look at it and enable it again")
    disabled_at: Timestamp = Field(description="when it was disabled")
