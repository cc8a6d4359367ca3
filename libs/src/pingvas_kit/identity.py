"""The internal identity: who is calling, as the gateway verified it.

The gateway authenticates the caller (access JWT, session cookie or API key) and
forwards the request with `X-Pingvas-Identity`: a short-lived HS256 JWT signed with the
internal secret that only the gateway and the services share. Services accept nothing
else as proof of identity: the tenant id always comes from here, never from a body.

    @router.get("/things")
    async def list_things(identity: CurrentIdentity): ...            # any caller
    @router.post("/members", dependencies=[require_role("admin")])   # admins and owners
    @router.post("/generations", dependencies=[require_scope("generations:write")])
    @router.get("/admin/tenants", dependencies=[require_platform_role("operator")])

Each token names the one service it is for (`aud`, the service's name: a token minted for
render is refused by billing) and carries a unique `jti` that a service accepts once
within the token's lifetime (`ReplayGuard`, per process): a token copied from one request,
a log or a service does not open another request or another service.

Tenant roles (`rol`) say what someone may do in the tenant they act in; platform roles
(`prl`) are the platform's own staff, independent of any tenant. Only people have them:
an API key or an anonymous caller never does.
"""

from __future__ import annotations

import heapq
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Literal

import jwt
from fastapi import Depends, HTTPException, Request
from jwt.types import Options

from .http_errors import CodedHTTPException
from .logging import bind_contextvars
from .problems import NO_TEAM, ROLE_REQUIRED, SCOPE_MISSING

HEADER = "x-pingvas-identity"
ISSUER = "pingvas-gateway"
TTL_SECONDS = 60
#: identity token ids a service remembers at most (per process); see ReplayGuard
REPLAY_CAPACITY = 200_000
ROLE_RANK = {"member": 1, "admin": 2, "owner": 3}
#: the platform role of Pingvas's own staff (search's /api/v1/admin/tenants, ...)
OPERATOR = "operator"


@dataclass(frozen=True)
class Identity:
    #: the user id, the API key id when kind == "api_key", "anonymous" for a caller the
    #: gateway let through unauthenticated (sign-up, log-in, password reset)
    principal_id: str
    kind: Literal["user", "api_key", "anonymous"]
    tenant_id: str | None
    roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    email_verified: bool = False
    request_id: str | None = None
    #: the user's session (refresh-token family), for log-out
    session_id: str | None = None
    #: the caller's address as the gateway saw it (audit log, rate limits)
    client_ip: str | None = None
    #: roles of the platform's own staff (`operator`), not of a tenant; people only
    platform_roles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.platform_roles and self.kind != "user":
            raise ValueError(f"a {self.kind} identity cannot carry platform roles")

    def has_role(self, role: str) -> bool:
        need = ROLE_RANK[role]
        return any(ROLE_RANK.get(r, 0) >= need for r in self.roles)

    def has_scope(self, scope: str) -> bool:
        # people act through roles; scopes bound what an API key may do
        return self.kind == "user" or scope in self.scopes

    def has_platform_role(self, role: str) -> bool:
        return self.kind == "user" and role in self.platform_roles


def issue(identity: Identity, secret: str, *, audience: str, ttl: int = TTL_SECONDS) -> str:
    """The signed identity for one request to one service (`audience`: its name, e.g.
    "render"), with a fresh `jti`: mint one per forwarded request, never reuse it."""
    if not audience:
        raise ValueError("an identity token names the service it is for")
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": audience,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + ttl,
        "sub": identity.principal_id,
        "knd": identity.kind,
        "tid": identity.tenant_id,
        "rol": list(identity.roles),
        "scp": list(identity.scopes),
        "evf": identity.email_verified,
        "rid": identity.request_id,
        "sid": identity.session_id,
        "ip": identity.client_ip,
        "prl": list(identity.platform_roles),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


class IdentityHeaders(Mapping[str, str]):
    """`{HEADER: token}` that mints a fresh token (a new `jti`) each time it is read, so one
    value can be sent with several requests, as tests and tools do: a service accepts each
    token once. The gateway mints per request itself and does not need it."""

    def __init__(self, identity: Identity, secret: str, *, audience: str) -> None:
        self.identity, self._secret, self.audience = identity, secret, audience

    def __getitem__(self, key: str) -> str:
        if key != HEADER:
            raise KeyError(key)
        return issue(self.identity, self._secret, audience=self.audience)

    def __iter__(self) -> Iterator[str]:
        return iter((HEADER,))

    def __len__(self) -> int:
        return 1

    def __repr__(self) -> str:
        return f"IdentityHeaders({self.identity.principal_id!r}, audience={self.audience!r})"


class InvalidIdentity(Exception):
    pass


class ReplayGuard:
    """The token ids (`jti`) seen, each kept until its token expires: a second sight is a
    replay. In memory, per process, bounded: past `capacity` live ids the one expiring
    soonest is forgotten first (a token that is about to expire anyway)."""

    def __init__(self, capacity: int = REPLAY_CAPACITY) -> None:
        self.capacity = capacity
        self._expiry: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []

    def __len__(self) -> int:
        return len(self._expiry)

    def first_sight(self, jti: str, expires_at: float, *, now: float | None = None) -> bool:
        """True the first time `jti` is seen within its lifetime, False on a replay."""
        now = time.time() if now is None else now
        heap = self._heap
        while heap and (heap[0][0] < now or len(self._expiry) >= self.capacity):
            _, old = heapq.heappop(heap)
            self._expiry.pop(old, None)
        if jti in self._expiry:
            return False
        self._expiry[jti] = expires_at
        heapq.heappush(heap, (expires_at, jti))
        return True


def verify(
    token: str, secret: str, *, audience: str | None = None, replay: ReplayGuard | None = None
) -> Identity:
    """The identity in `token` if it is signed with `secret`, unexpired, for `audience`
    (this service's name) and, with a `replay` guard, not seen before. A service always
    names itself and passes its guard (`current_identity` does); `audience=None` (any
    service) is for tests and tools that inspect a token the gateway forwarded."""
    options: Options = {"require": ["exp", "iat", "sub", "aud", "iss", "jti"], "strict_aud": True}
    if audience is None:
        options["verify_aud"] = False
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], audience=audience, issuer=ISSUER, options=options
        )
    except jwt.PyJWTError as exc:
        raise InvalidIdentity(type(exc).__name__) from None
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise InvalidIdentity("bad token id")
    if replay is not None and not replay.first_sight(jti, float(claims["exp"])):
        raise InvalidIdentity("replayed")
    if claims.get("knd") not in ("user", "api_key", "anonymous"):
        raise InvalidIdentity("bad principal kind")
    try:
        return Identity(
            principal_id=str(claims["sub"]),
            kind=claims["knd"],
            tenant_id=claims.get("tid"),
            roles=tuple(claims.get("rol") or ()),
            scopes=tuple(claims.get("scp") or ()),
            email_verified=bool(claims.get("evf")),
            request_id=claims.get("rid"),
            session_id=claims.get("sid"),
            client_ip=claims.get("ip"),
            platform_roles=tuple(str(r) for r in claims.get("prl") or ()),
        )
    except ValueError as exc:  # platform roles on an API key or anonymous caller
        raise InvalidIdentity(str(exc)) from None


def replay_guard(app: object) -> ReplayGuard:
    """The app's (this process's) guard, made on first use."""
    state = app.state  # type: ignore[attr-defined]
    guard = getattr(state, "identity_replay", None)
    if guard is None:
        guard = state.identity_replay = ReplayGuard()
    return guard


async def current_identity(request: Request) -> Identity:
    token = request.headers.get(HEADER)
    if not token:
        raise HTTPException(401, "This service only answers requests forwarded by the gateway.")
    settings = request.app.state.runtime.settings
    try:
        identity = verify(
            token,
            settings.internal_secret.get_secret_value(),
            audience=settings.service_name,
            replay=replay_guard(request.app),
        )
    except InvalidIdentity:
        raise HTTPException(401, "The forwarded identity is not valid.") from None
    bind_contextvars(tenant_id=identity.tenant_id, principal_id=identity.principal_id)
    return identity


CurrentIdentity = Annotated[Identity, Depends(current_identity)]


async def current_tenant_identity(identity: CurrentIdentity) -> Identity:
    if identity.kind == "anonymous":
        raise HTTPException(401, "Log in first.")
    if identity.tenant_id is None:
        raise CodedHTTPException(403, NO_TEAM, "Choose a team first.")
    return identity


TenantIdentity = Annotated[Identity, Depends(current_tenant_identity)]


def require_role(role: str):  # noqa: ANN201
    async def check(identity: TenantIdentity) -> Identity:
        if identity.kind != "user" or not identity.has_role(role):
            raise CodedHTTPException(403, ROLE_REQUIRED, f"This needs the {role} role.", role=role)
        return identity

    return Depends(check)


def require_scope(scope: str):  # noqa: ANN201
    async def check(identity: TenantIdentity) -> Identity:
        if not identity.has_scope(scope):
            raise CodedHTTPException(
                403, SCOPE_MISSING, f"This API key lacks the {scope} scope.", scope=scope
            )
        return identity

    return Depends(check)


def require_platform_role(role: str):  # noqa: ANN201
    """A person with this platform role; no tenant needed (an operator may have none chosen)."""

    async def check(identity: CurrentIdentity) -> Identity:
        if identity.kind == "anonymous":
            raise HTTPException(401, "Log in first.")
        if not identity.has_platform_role(role):
            raise CodedHTTPException(
                403, ROLE_REQUIRED, f"This needs the platform {role} role.", role=role
            )
        return identity

    return Depends(check)
