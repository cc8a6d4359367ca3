"""Request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from ..domain.names import NAME_MESSAGES, name_problem
from ..domain.passwords import MAX_LENGTH, MIN_LENGTH

Email = Annotated[EmailStr, Field(max_length=254), AfterValidator(lambda v: v.lower())]
#: checked by the use case against the one rule (domain/passwords.py), which needs the
#: person's address and name: 422 with `code` password-too-short, -too-long, -too-weak or
#: -contains-personal
Password = Annotated[
    str,
    Field(
        description=(
            f"{MIN_LENGTH} to {MAX_LENGTH} characters, not a common password, not containing "
            "your name or email address (GET /api/v1/auth/password-policy)"
        ),
        # the lengths in the schema too; the server's check answers them with its own codes
        json_schema_extra={"minLength": MIN_LENGTH, "maxLength": MAX_LENGTH},
    ),
]


def _visible_name(value: str) -> str:
    problem = name_problem(value)
    if problem is not None:
        # the type is the problem's code (app.py answers 422 with it)
        raise PydanticCustomError(problem, NAME_MESSAGES[problem])
    return value


#: a person's or a team's name: no control characters, something visible
#: the rule of domain/names.py as far as a pattern can say it (the schema's readers and
#: generators): no control character, and at least one that is neither a space nor one of
#: the common invisible ones (zero-width, direction marks, Hangul fillers, braille blank)
_CONTROL = r"\u0000-\u001f\u007f-\u009f"
_INVISIBLE = r"\s\u00ad\u034f\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f"
_INVISIBLE += r"\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0"
NAME_PATTERN = f"^[^{_CONTROL}]*[^{_CONTROL}{_INVISIBLE}][^{_CONTROL}]*$"

Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=100),
    AfterValidator(_visible_name),
    Field(
        description="A person's or a team's name: something visible, no control characters "
        "(422 name-blank, name-control-characters)",
        json_schema_extra={"minLength": 1, "pattern": NAME_PATTERN},
    ),
]
Locale = Literal["ko", "en"]
AssignableRole = Literal["owner", "admin", "member"]
Scope = Literal[
    "generations:read",
    "generations:write",
    "images:read",
    "images:write",
    "search:read",
    "webhooks:write",
]
Token = Annotated[str, Field(min_length=1, max_length=512)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignupIn(Body):
    email: Email
    password: Password
    name: Name
    team_name: Name
    locale: Locale = "en"


class LoginIn(Body):
    email: Email
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    tenant_id: str | None = Field(default=None, max_length=64)


class RefreshIn(Body):
    refresh_token: Token


class LogoutIn(Body):
    refresh_token: Token | None = None


class SwitchTenantIn(Body):
    tenant_id: Annotated[str, Field(min_length=1, max_length=64)]


class TokenIn(Body):
    token: Token


class VerifyEmailIn(Body):
    token: Token
    #: the caller's session (the gateway adds the browser's pv_rt): when it is the verified
    #: person's, it is renewed at once, so the new access token says "verified"
    refresh_token: Token | None = None


class PasswordResetIn(Body):
    email: Email


class PasswordChangeIn(Body):
    current_password: Annotated[str, Field(min_length=1, max_length=1024)]
    new_password: Password


class PasswordPolicyOut(BaseModel):
    """The one password rule, for the SPA's hint and its own check before sending."""

    min_length: int = Field(description="fewest characters")
    max_length: int = Field(description="most characters")
    refuses_common: bool = Field(
        description="common passwords (a bundled list) are refused, also with digits or "
        "symbols around them: 422 `password-too-weak`"
    )
    refuses_personal: bool = Field(
        description="a password containing the person's name or email local part is refused: "
        "422 `password-contains-personal`"
    )


class VerificationRequestIn(Body):
    email: Email


class PasswordResetConfirmIn(Body):
    token: Token
    password: Password
    #: also revoke the API keys of every team the person owns (ignored for teams where they
    #: are not an owner); each revocation is in that team's audit log
    revoke_api_keys: StrictBool = False


class RoleIn(Body):
    role: AssignableRole


class InvitationIn(Body):
    email: Email
    role: AssignableRole = "member"


class AcceptInvitationIn(Body):
    """Only for someone without an account: signs them up and joins at once."""

    name: Name | None = None
    password: Password | None = None
    locale: Locale | None = None


class ApiKeyIn(Body):
    name: Name
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=5)]


class VerifyApiKeyIn(Body):
    key: Annotated[str, Field(min_length=1, max_length=256)]


class SessionStateIn(Body):
    user_id: Annotated[str, Field(min_length=1, max_length=64)]
    tenant_id: Annotated[str | None, Field(min_length=1, max_length=64)] = None


class DeleteTenantIn(Body):
    confirm: str = Field(
        min_length=1, max_length=200, description="the team's name, typed exactly (else 422)"
    )


class TeamSettings(BaseModel):
    member_image_deletion: Literal["own", "any"] = Field(
        description="`own`: a member deletes only the images they made (admins and owners any);"
        " `any`: every member may delete any image of the team"
    )


class TeamSettingsIn(Body):
    member_image_deletion: Literal["own", "any"] = Field(
        description="`own` (the default) or `any`, as in the answer"
    )


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    locale: str
    email_verified: bool


class TenantOut(BaseModel):
    id: str
    name: str
    slug: str


class TokenPair(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str
    user: UserOut
    tenant: TenantOut | None
    role: str | None


class EmailVerified(BaseModel):
    email_verified: Literal[True] = True
    #: the renewed session, when the request brought the verified person's refresh token
    #: (a browser gets these as cookies instead)
    access_token: str | None = None
    token_type: Literal["bearer"] | None = None
    expires_in: int | None = None
    refresh_token: str | None = None


class SignupAccepted(BaseModel):
    """The one answer sign-up gives, whether or not the address already has an account."""

    status: Literal["verification_sent"] = "verification_sent"
    detail: str


class MembershipOut(BaseModel):
    tenant_id: str
    tenant_name: str
    role: str


class PreferencesIn(Body):
    #: the language of the person's mail (and of the app, where it has no choice of its own)
    locale: Locale


class MeOut(BaseModel):
    user: UserOut
    memberships: list[MembershipOut]
    tenant: TenantOut | None
    role: str | None
    #: the platform's own staff roles (`operator`), as the database holds them now
    platform_roles: list[str]


class MemberOut(BaseModel):
    user_id: str
    email: str
    name: str
    role: str
    email_verified: bool
    joined_at: datetime


class InvitationOut(BaseModel):
    id: str
    email: str
    role: str
    created_at: datetime
    expires_at: datetime
    expired: bool


class InvitationPreview(BaseModel):
    tenant_name: str
    email: str
    role: str
    expired: bool
    accepted: bool


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewApiKeyOut(ApiKeyOut):
    key: str = Field(description="the whole key; shown this once, never again")


class VerifiedApiKey(BaseModel):
    api_key_id: str
    tenant_id: str
    scopes: list[str]
    name: str
    #: the person who made the key has verified their address (now): the gateway carries it
    #: as the identity's `evf`, and render queues generations only for a verified one
    email_verified: bool


class SessionState(BaseModel):
    """What the gateway compares an access token with (api/revocation.py)."""

    user_exists: bool
    #: a token whose `uver` is lower was issued before the person's last password reset
    token_version: int
    tenant_id: str | None
    #: epoch seconds the person has been a member of `tenant_id` since; null: not a member
    #: (removed, or the tenant is deleted), or no tenant asked about
    member_since: int | None


class AuditEntry(BaseModel):
    id: int
    action: str
    actor_id: str | None
    actor_kind: str | None
    actor_name: str | None = Field(
        default=None, description="the person's name (or the API key's) when it is known"
    )
    actor_email: str | None = Field(default=None, description="the person's address")
    target_type: str | None
    target_id: str | None
    target_name: str | None = Field(
        default=None, description="for a person it was done to (`target_type` user): their name"
    )
    target_email: str | None = Field(default=None, description="and their address")
    ip: str | None
    details: dict[str, Any] | None
    created_at: datetime


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None
