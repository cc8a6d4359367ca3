"""What callers of the tenants service get done: one function per thing, each opening its
own transaction, applying the domain's rules and staging its events in the outbox.

Every function takes the Context first and the rest as keywords; whatever works on a team's
resources takes `tenant_id`, from the verified identity, never from the request body."""

from ._context import Context
from ._sessions import SignedIn
from .api_keys import NewApiKey, create_api_key, list_api_keys, revoke_api_key, verify_api_key
from .auth import (
    change_password,
    log_in,
    log_out,
    refresh_session,
    request_password_reset,
    resend_verification,
    resend_verification_to,
    reset_password,
    sign_up,
    switch_tenant,
    verify_email,
)
from .invitations import (
    SentInvitation,
    accept_invitation,
    find_invitation,
    invite,
    list_invitations,
    resend_invitation,
    revoke_invitation,
)
from .members import change_role, list_members, remove_member
from .preferences import set_preferences
from .tenants import change_team_settings, delete_tenant, team_settings

__all__ = [
    "set_preferences",
    "Context",
    "NewApiKey",
    "SentInvitation",
    "SignedIn",
    "accept_invitation",
    "change_role",
    "change_team_settings",
    "create_api_key",
    "delete_tenant",
    "find_invitation",
    "invite",
    "list_api_keys",
    "list_invitations",
    "list_members",
    "log_in",
    "log_out",
    "refresh_session",
    "remove_member",
    "request_password_reset",
    "resend_invitation",
    "change_password",
    "resend_verification",
    "resend_verification_to",
    "reset_password",
    "revoke_api_key",
    "revoke_invitation",
    "sign_up",
    "switch_tenant",
    "team_settings",
    "verify_api_key",
    "verify_email",
]
