"""Access tokens (issued by tenants, docs/identity.md) and the identities they stand for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

from pingvas_kit.identity import Identity

ANONYMOUS = "anonymous"


class InvalidCredentials(Exception):
    """The caller sent credentials that do not hold (bad, expired, revoked, unknown)."""


@dataclass(frozen=True, slots=True)
class AccessToken:
    claims: dict[str, Any]

    @property
    def session_id(self) -> str | None:
        sid = self.claims.get("sid")
        return str(sid) if sid is not None else None

    @property
    def expires_at(self) -> int:
        return int(self.claims["exp"])


def decode_access_token(
    token: str, *, secret: str, issuer: str, audience: str, leeway: int
) -> AccessToken:
    # pyjwt directly: Litestar's Token.decode refuses an `iat` even a second ahead of this
    # clock, and tenants may run on another node
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            issuer=issuer,
            audience=audience,
            leeway=leeway,
            options={"require": ["exp", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidCredentials(type(exc).__name__) from None
    return AccessToken(claims)


def user_identity(token: AccessToken, *, request_id: str, client_ip: str) -> Identity:
    claims = token.claims
    return Identity(
        principal_id=str(claims["sub"]),
        kind="user",
        tenant_id=_str_or_none(claims.get("tid")),
        roles=tuple(str(r) for r in claims.get("rol") or ()),
        # the platform's own staff (`operator`); a tenant-free role, people only
        platform_roles=tuple(str(r) for r in claims.get("prl") or ()),
        email_verified=bool(claims.get("evf")),
        request_id=request_id,
        session_id=token.session_id,
        client_ip=client_ip,
    )


def api_key_identity(answer: dict[str, Any], *, request_id: str, client_ip: str) -> Identity:
    """From tenants' answer to /internal/api-keys/verify. A key never carries platform
    roles, whatever the answer says: they belong to people."""
    return Identity(
        principal_id=str(answer.get("api_key_id") or answer.get("key_id") or answer["id"]),
        kind="api_key",
        tenant_id=_str_or_none(answer.get("tenant_id")),
        roles=tuple(str(r) for r in answer.get("roles") or ()),
        scopes=tuple(str(s) for s in answer.get("scopes") or ()),
        # whether the key's creator has verified their address (render's rule for generating)
        email_verified=answer.get("email_verified") is True,
        request_id=request_id,
        client_ip=client_ip,
    )


def anonymous_identity(*, request_id: str, client_ip: str) -> Identity:
    return Identity(
        principal_id=ANONYMOUS,
        kind="anonymous",
        tenant_id=None,
        request_id=request_id,
        client_ip=client_ip,
    )


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
