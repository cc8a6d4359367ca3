"""Queries over the tenants schema, one module per aggregate. Every function that touches a
tenant's resources takes `tenant_id` as a keyword, from the verified identity, so it cannot
be forgotten.

Callers use the package (`repo.get_user(...)`, `repo.now()`), never the private modules, so
that a test may replace one query for all of them."""

from ._api_keys import (
    api_keys_of_tenant,
    find_live_api_key,
    get_api_key,
    insert_api_key,
    live_api_keys,
    revoke_api_key,
    touch_api_key,
)
from ._audit import (
    audit,
    audit_page,
)
from ._common import aware, new_id, now
from ._email_tokens import (
    consume_email_token,
    email_token_times,
    expire_email_tokens,
    insert_email_token,
)
from ._invitations import (
    accept_invitation,
    find_invitation,
    insert_invitation,
    invitations_of_tenant,
    revoke_invitations,
)
from ._memberships import (
    add_membership,
    count_owners,
    get_membership,
    members_of_tenant,
    memberships_of_user,
    remove_membership,
    set_role,
)
from ._refresh_tokens import (
    get_refresh_token,
    insert_refresh_token,
    revoke_refresh_tokens,
    use_refresh_token,
)
from ._tenants import (
    get_tenant,
    insert_tenant,
    mark_tenant_deleted,
    slug_taken,
)
from ._users import (
    find_user_by_email,
    get_user,
    insert_user,
    raise_token_version,
    session_state,
    update_user,
    users_with_platform_role,
)

__all__ = [
    "accept_invitation",
    "add_membership",
    "api_keys_of_tenant",
    "audit",
    "audit_page",
    "aware",
    "consume_email_token",
    "count_owners",
    "email_token_times",
    "expire_email_tokens",
    "find_invitation",
    "find_live_api_key",
    "find_user_by_email",
    "get_api_key",
    "get_membership",
    "get_refresh_token",
    "get_tenant",
    "get_user",
    "insert_api_key",
    "insert_email_token",
    "insert_invitation",
    "insert_refresh_token",
    "insert_tenant",
    "insert_user",
    "invitations_of_tenant",
    "live_api_keys",
    "mark_tenant_deleted",
    "members_of_tenant",
    "memberships_of_user",
    "new_id",
    "now",
    "raise_token_version",
    "remove_membership",
    "revoke_api_key",
    "revoke_invitations",
    "revoke_refresh_tokens",
    "session_state",
    "set_role",
    "slug_taken",
    "touch_api_key",
    "update_user",
    "use_refresh_token",
    "users_with_platform_role",
]
