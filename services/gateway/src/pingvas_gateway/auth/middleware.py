"""Authentication at the edge (Litestar's AbstractAuthenticationMiddleware).

Every proxied request leaves here with an Identity in `request.user`: the user of a valid
access token (Authorization: Bearer, or the pv_at cookie), the API key tenants vouched for
(Authorization: Bearer pvk_...), or anonymous. Whether anonymous may pass is the guards'
call (auth/guards.py), since public routes take anonymous callers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from litestar.connection import ASGIConnection
from litestar.exceptions import ServiceUnavailableException
from litestar.middleware.authentication import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
)

from pingvas_kit.logging import get_logger
from pingvas_kit.problems import register_codes

from ..adapters.api_keys import ApiKeyVerifier, KeyCheckUnavailable
from ..adapters.session_state import SessionStateChecker, StateCheckUnavailable
from ..edge import client_ip, request_id
from ..settings import Settings
from .sessions import ACCESS_COOKIE, DenyList
from .tokens import (
    AccessToken,
    InvalidCredentials,
    anonymous_identity,
    api_key_identity,
    decode_access_token,
    user_identity,
)

log = get_logger("pingvas.gateway.auth")

API_KEY_PREFIX = "pvk_"
#: the problem code of a 401 for a session that was ended (log-out, password reset, removal
#: from the team, the team's deletion): the client logs in again
#: the problem code of a 401 for credentials that are expired, malformed or revoked
(SESSION_REVOKED, INVALID_TOKEN) = register_codes("session_revoked", "invalid_token", status=401)
Method = Literal["bearer", "api_key", "cookie"]


@dataclass(frozen=True, slots=True)
class Credentials:
    """How the caller authenticated (`request.auth`)."""

    #: None: the caller sent nothing usable
    method: Method | None = None
    #: the credentials sent were refused (bad, expired, revoked): WWW-Authenticate says so
    refused: bool = False
    #: the verified access token (bearer or cookie), for log-out
    token: AccessToken | None = None
    #: why they were refused, as a problem code (SESSION_REVOKED), when there is one
    code: str | None = None


class SessionRevoked(InvalidCredentials):
    """A valid token of a session that has since been ended."""


class IdentityMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        rid = request_id(connection.scope)
        ip = client_ip(connection.scope)
        anonymous = anonymous_identity(request_id=rid, client_ip=ip)
        state = connection.app.state
        settings: Settings = state.settings

        method: Method
        header = connection.headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        credential = credential.strip()
        if scheme.lower() == "bearer" and credential:
            method = "api_key" if credential.startswith(API_KEY_PREFIX) else "bearer"
        elif cookie := connection.cookies.get(ACCESS_COOKIE):
            method, credential = "cookie", cookie
        else:
            return AuthenticationResult(user=anonymous, auth=Credentials())

        try:
            if method == "api_key":
                verifier: ApiKeyVerifier = state.api_keys
                try:
                    answer = await verifier.verify(credential, caller=anonymous)
                except KeyCheckUnavailable as exc:
                    log.warning("auth.api_key_check_unavailable", reason=str(exc))
                    raise ServiceUnavailableException(
                        "API keys cannot be checked right now; try again shortly."
                    ) from None
                if answer is None:
                    raise InvalidCredentials("unknown or revoked API key")
                identity = api_key_identity(answer, request_id=rid, client_ip=ip)
                return AuthenticationResult(user=identity, auth=Credentials(method))

            token = decode_access_token(
                credential,
                secret=settings.jwt_secret.get_secret_value(),
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                leeway=settings.jwt_leeway,
            )
            deny_list: DenyList = state.deny_list
            if token.session_id and await deny_list.is_denied(token.session_id):
                raise SessionRevoked("session logged out")
            checker: SessionStateChecker = state.session_state
            try:
                current = await checker.state(
                    user_id=str(token.claims["sub"]),
                    tenant_id=_str_or_none(token.claims.get("tid")),
                    caller=anonymous,
                )
            except StateCheckUnavailable as exc:
                log.warning("auth.session_check_unavailable", reason=str(exc))
                raise ServiceUnavailableException(
                    "Sessions cannot be checked right now; try again shortly."
                ) from None
            if reason := current.refuses(token.claims, leeway=settings.jwt_leeway):
                raise SessionRevoked(reason)
        except InvalidCredentials as exc:
            log.info("auth.refused", method=method, reason=str(exc))
            code = SESSION_REVOKED if isinstance(exc, SessionRevoked) else None
            return AuthenticationResult(
                user=anonymous, auth=Credentials(method, refused=True, code=code)
            )
        person = user_identity(token, request_id=rid, client_ip=ip)
        return AuthenticationResult(user=person, auth=Credentials(method, token=token))


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)
