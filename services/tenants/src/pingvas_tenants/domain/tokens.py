"""Secrets handed to people: access JWTs, refresh tokens, single-use links, API keys.

Everything opaque is stored only as its SHA-256 (the tokens carry 190+ random bits, so a fast
hash is enough); the plain value exists once, in the response or the event that carries it."""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import time
import uuid
from collections.abc import Sequence

import jwt

ACCESS_ISSUER = "pingvas"
ACCESS_AUDIENCE = "pingvas-api"
REFRESH_PREFIX = "pvr_"
API_KEY_PREFIX = "pvk_"
API_KEY_PATTERN = re.compile(r"^pvk_([A-Za-z0-9]{8})_[A-Za-z0-9]{32}$")
SCOPES = frozenset(
    {
        "generations:read",
        "generations:write",
        "images:read",
        "images:write",
        "search:read",
        "webhooks:write",
    }
)
_BASE62 = string.ascii_letters + string.digits


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_refresh_token() -> str:
    return REFRESH_PREFIX + secrets.token_urlsafe(32)  # 43 url-safe characters


def new_link_token() -> str:
    """For verification, password-reset and invitation links."""
    return secrets.token_urlsafe(32)


def new_api_key() -> tuple[str, str]:
    """(the whole key, its visible prefix `pvk_XXXXXXXX`)."""
    public = "".join(secrets.choice(_BASE62) for _ in range(8))
    secret = "".join(secrets.choice(_BASE62) for _ in range(32))
    return f"{API_KEY_PREFIX}{public}_{secret}", f"{API_KEY_PREFIX}{public}"


def looks_like_api_key(key: str) -> bool:
    return API_KEY_PATTERN.match(key) is not None


def issue_access_token(
    *,
    secret: str,
    ttl: int,
    user_id: str,
    tenant_id: str | None,
    role: str | None,
    platform_roles: Sequence[str],
    email_verified: bool,
    session_id: str,
    user_version: int = 0,
) -> str:
    """The public access token; its claims are the contract with the gateway (docs/identity.md)."""
    now = int(time.time())
    claims = {
        "iss": ACCESS_ISSUER,
        "aud": ACCESS_AUDIENCE,
        "sub": user_id,
        "tid": tenant_id,
        "rol": [role] if role else [],
        "prl": list(platform_roles),
        "evf": email_verified,
        "sid": session_id,
        # the person's token version at issue: a password reset raises it, and the gateway
        # then refuses this token (docs/identity.md, "Revocation")
        "uver": user_version,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, secret, algorithm="HS256")
