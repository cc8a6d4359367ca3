"""The answers about sessions and accounts: a token pair, the caller's account, a team."""

from __future__ import annotations

import sqlalchemy as sa

from ..usecases import SignedIn
from .schemas import TenantOut, TokenPair, UserOut


def user_out(user: sa.Row) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        locale=user.locale,
        email_verified=user.email_verified_at is not None,
    )


def tenant_out(tenant: sa.Row | None) -> TenantOut | None:
    if tenant is None:
        return None
    return TenantOut(id=tenant.id, name=tenant.name, slug=tenant.slug)


def token_pair(signed_in: SignedIn) -> TokenPair:
    return TokenPair(
        access_token=signed_in.access_token,
        expires_in=signed_in.expires_in,
        refresh_token=signed_in.refresh_token,
        user=user_out(signed_in.user),
        tenant=tenant_out(signed_in.tenant),
        role=signed_in.role,
    )
