"""The isolation matrix: every route of the app (read from `app.routes`) has a policy in
`POLICIES`, and each policy is checked against one shared world of two tenants.

For every route but the open infrastructure ones: no identity, a garbled one, one signed with
another secret, one whose payload was altered and an expired one are 401. For the routes of
people (`user`, `member`, `admin`, `owner`): the anonymous identity is 401, an API key's
identity (tenant A's own or tenant B's) is 403, tenant B's owner on tenant A's ids gets the
`cross` status (404 for A's resources; B's own data for collections) and never a byte of A's
ids, emails or name, a plain member of A on admin and owner routes is 403, an admin of A on
owner routes is 403. The gateway's key check refuses a revoked key (401). A route added
without a policy fails here."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Literal

import httpx
import pytest
import pytest_asyncio
from pingvas_tenants.app import create_app
from pingvas_tenants.settings import Settings

from pingvas_kit.identity import HEADER, Identity, issue
from pingvas_kit.problems import PROBLEM_JSON

from .conftest import FAST_HASHING, PASSWORD, Gateway, link_token

A_TEAM, B_TEAM = "Alpha Studio", "Beta Works"
A_OWNER, A_ADMIN, A_MEMBER = "owner@alpha.example", "admin@alpha.example", "member@alpha.example"
A_INVITEE = "invitee@alpha.example"
B_OWNER = "owner@beta.example"
PEOPLE = ("user", "member", "admin", "owner")


@dataclass
class World:
    """Tenant A (owner, admin, member, an open invitation, a live and a revoked key) and
    tenant B (its owner and a key), in one running app."""

    gw: Gateway
    a_owner: dict
    a_admin: dict
    a_member: dict
    invitation_id: str
    invitation_token: str
    key: dict
    revoked_key: dict
    b_owner: dict
    b_key: dict
    #: what must never appear in an answer given to tenant B
    a_markers: list[str] = field(default_factory=list)
    #: A's webhook endpoint and a delivery to it
    webhook_id: str = ""
    delivery_id: str = ""

    @property
    def a_tenant(self) -> str:
        return self.a_owner["tenant"]["id"]

    def key_identity(self, key: dict, tenant_id: str) -> dict[str, str]:
        return self.gw.key(key["id"], tenant_id, key["scopes"])


Request = Callable[[World], tuple[str, Any]]


@dataclass(frozen=True)
class Policy:
    #: open: infrastructure, no identity needed; public: any identity the gateway signed,
    #: anonymous included; internal: the gateway itself; user: a logged-in person, any team;
    #: member / admin / owner: a person with at least that role in the identity's tenant
    who: Literal["open", "public", "internal", "user", "member", "admin", "owner"]
    #: the path (built from A's resources) and the JSON body
    request: Request | None = None
    #: what tenant B's owner gets on this request (A's ids): 404, or B's own data
    cross: int | None = None
    #: what a plain member of A gets; admin and owner routes default to 403
    member: int | None = None

    def member_status(self) -> int | None:
        return 403 if self.who in ("admin", "owner") else self.member


def no_body(path: str) -> Request:
    return lambda _w: (path, None)


POLICIES: dict[str, Policy] = {
    # infrastructure: probes and scrapes, no tenant data
    "GET /openapi.json": Policy("open"),
    "GET /docs": Policy("open"),
    "GET /docs/oauth2-redirect": Policy("open"),
    "GET /redoc": Policy("open"),
    "GET /healthz": Policy("open"),
    "GET /readyz": Policy("open"),
    "GET /metrics": Policy("open"),
    # public: the gateway forwards them with the anonymous identity
    "POST /api/v1/auth/signup": Policy(
        "public",
        lambda w: (
            "/api/v1/auth/signup",
            {"email": "new@gamma.example", "password": PASSWORD, "name": "N", "team_name": "G"},
        ),
    ),
    "POST /api/v1/auth/verify-email": Policy(
        "public", lambda w: ("/api/v1/auth/verify-email", {"token": "pv" + "x" * 40})
    ),
    "POST /api/v1/auth/verify-email/request": Policy(
        "public", lambda w: ("/api/v1/auth/verify-email/request", {"email": A_OWNER})
    ),
    "GET /api/v1/auth/password-policy": Policy(
        "public", lambda w: ("/api/v1/auth/password-policy", None)
    ),
    "POST /api/v1/auth/login": Policy(
        "public", lambda w: ("/api/v1/auth/login", {"email": A_OWNER, "password": PASSWORD})
    ),
    "POST /api/v1/auth/refresh": Policy(
        "public",
        lambda w: ("/api/v1/auth/refresh", {"refresh_token": w.a_owner["refresh_token"]}),
    ),
    "POST /api/v1/auth/logout": Policy(
        "public",
        lambda w: ("/api/v1/auth/logout", {"refresh_token": w.a_owner["refresh_token"]}),
    ),
    "POST /api/v1/auth/password-reset": Policy(
        "public", lambda w: ("/api/v1/auth/password-reset", {"email": A_OWNER})
    ),
    "POST /api/v1/auth/password-reset/confirm": Policy(
        "public",
        lambda w: (
            "/api/v1/auth/password-reset/confirm",
            {"token": "pv" + "x" * 40, "password": "another passphrase"},
        ),
    ),
    "GET /api/v1/invitations/{token}": Policy(
        "public", lambda w: (f"/api/v1/invitations/{w.invitation_token}", None)
    ),
    "POST /api/v1/invitations/{token}/accept": Policy(
        "public",
        lambda w: (
            f"/api/v1/invitations/{w.invitation_token}/accept",
            {"name": "Invitee", "password": PASSWORD},
        ),
    ),
    # the gateway's key check
    "POST /internal/api-keys/verify": Policy(
        "internal", lambda w: ("/internal/api-keys/verify", {"key": w.key["key"]})
    ),
    # the gateway's session check (token version, membership)
    "POST /internal/sessions/state": Policy(
        "internal",
        lambda w: (
            "/internal/sessions/state",
            {"user_id": w.a_member["user"]["id"], "tenant_id": w.a_tenant},
        ),
    ),
    # people, in any team
    "GET /api/v1/me": Policy("user", no_body("/api/v1/me"), cross=200, member=200),
    "PATCH /api/v1/me/preferences": Policy(
        "user", lambda _w: ("/api/v1/me/preferences", {"locale": "en"}), cross=200, member=200
    ),
    "POST /api/v1/me/password": Policy(
        "user",
        lambda w: (
            "/api/v1/me/password",
            {"current_password": "not the password", "new_password": "another passphrase"},
        ),
        cross=422,
        member=422,
    ),
    "POST /api/v1/auth/verify-email/resend": Policy(
        "user", no_body("/api/v1/auth/verify-email/resend"), cross=202
    ),
    "POST /api/v1/auth/switch-tenant": Policy(
        "user", lambda w: ("/api/v1/auth/switch-tenant", {"tenant_id": w.a_tenant}), cross=404
    ),
    # members of the identity's tenant
    "GET /api/v1/members": Policy("member", no_body("/api/v1/members"), cross=200, member=200),
    "GET /api/v1/tenant/settings": Policy(
        "member", no_body("/api/v1/tenant/settings"), cross=200, member=200
    ),
    "DELETE /api/v1/members/{user_id}": Policy(
        "member",
        lambda w: (f"/api/v1/members/{w.a_admin['user']['id']}", None),
        cross=404,
        member=403,  # anyone may leave; removing someone else takes an admin
    ),
    # admins
    "PATCH /api/v1/members/{user_id}": Policy(
        "admin",
        lambda w: (f"/api/v1/members/{w.a_admin['user']['id']}", {"role": "member"}),
        cross=404,
    ),
    "GET /api/v1/invitations": Policy("admin", no_body("/api/v1/invitations"), cross=200),
    "POST /api/v1/invitations": Policy(
        "admin",
        lambda w: ("/api/v1/invitations", {"email": "newcomer@gamma.example", "role": "member"}),
        cross=201,
    ),
    "DELETE /api/v1/invitations/{invitation_id}": Policy(
        "admin", lambda w: (f"/api/v1/invitations/{w.invitation_id}", None), cross=404
    ),
    "POST /api/v1/invitations/{invitation_id}/resend": Policy(
        "admin", lambda w: (f"/api/v1/invitations/{w.invitation_id}/resend", None), cross=404
    ),
    "GET /api/v1/api-keys": Policy("admin", no_body("/api/v1/api-keys"), cross=200),
    "POST /api/v1/api-keys": Policy(
        "admin",
        lambda w: ("/api/v1/api-keys", {"name": "matrix", "scopes": ["images:read"]}),
        cross=201,
    ),
    "DELETE /api/v1/api-keys/{api_key_id}": Policy(
        "admin", lambda w: (f"/api/v1/api-keys/{w.key['id']}", None), cross=404
    ),
    # filtered by A's owner: B's owner gets B's own (none of A's entries or names)
    "GET /api/v1/audit-log": Policy(
        "admin",
        lambda w: (f"/api/v1/audit-log?actor_id={w.a_owner['user']['id']}&action=member", None),
        cross=200,
    ),
    "PATCH /api/v1/tenant/settings": Policy(
        "admin",
        lambda w: ("/api/v1/tenant/settings", {"member_image_deletion": "own"}),
        cross=200,
    ),
    # webhooks: owners and admins (API keys with webhooks:write, which no key here has)
    "GET /api/v1/webhooks/event-types": Policy(
        "admin", no_body("/api/v1/webhooks/event-types"), cross=200
    ),
    "GET /api/v1/webhooks/endpoints": Policy(
        "admin", no_body("/api/v1/webhooks/endpoints"), cross=200
    ),
    "POST /api/v1/webhooks/endpoints": Policy(
        "admin",
        lambda w: (
            "/api/v1/webhooks/endpoints",
            {"url": "http://127.0.0.1:9/matrix", "event_types": ["image.created"]},
        ),
        cross=201,
    ),
    "GET /api/v1/webhooks/endpoints/{endpoint_id}": Policy(
        "admin", lambda w: (f"/api/v1/webhooks/endpoints/{w.webhook_id}", None), cross=404
    ),
    "PATCH /api/v1/webhooks/endpoints/{endpoint_id}": Policy(
        "admin",
        lambda w: (f"/api/v1/webhooks/endpoints/{w.webhook_id}", {"description": "matrix"}),
        cross=404,
    ),
    "DELETE /api/v1/webhooks/endpoints/{endpoint_id}": Policy(
        "admin", lambda w: (f"/api/v1/webhooks/endpoints/{w.webhook_id}", None), cross=404
    ),
    "POST /api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret": Policy(
        "admin",
        lambda w: (f"/api/v1/webhooks/endpoints/{w.webhook_id}/rotate-secret", None),
        cross=404,
    ),
    "POST /api/v1/webhooks/endpoints/{endpoint_id}/test": Policy(
        "admin", lambda w: (f"/api/v1/webhooks/endpoints/{w.webhook_id}/test", None), cross=404
    ),
    "GET /api/v1/webhooks/endpoints/{endpoint_id}/deliveries": Policy(
        "admin",
        lambda w: (f"/api/v1/webhooks/endpoints/{w.webhook_id}/deliveries", None),
        cross=404,
    ),
    "GET /api/v1/webhooks/deliveries/{delivery_id}": Policy(
        "admin", lambda w: (f"/api/v1/webhooks/deliveries/{w.delivery_id}", None), cross=404
    ),
    "POST /api/v1/webhooks/deliveries/{delivery_id}/redeliver": Policy(
        "admin",
        lambda w: (f"/api/v1/webhooks/deliveries/{w.delivery_id}/redeliver", None),
        cross=404,
    ),
    "GET /api/v1/webhooks/callback-secret": Policy(
        "admin", no_body("/api/v1/webhooks/callback-secret"), cross=200
    ),
    "POST /api/v1/webhooks/callback-secret/rotate": Policy(
        "admin", no_body("/api/v1/webhooks/callback-secret/rotate"), cross=200
    ),
    # owners: B's owner naming A's team confirms nothing of B's (422) and cannot reach A
    "DELETE /api/v1/tenant": Policy(
        "owner", lambda w: ("/api/v1/tenant", {"confirm": A_TEAM}), cross=422
    ),
}


def app_routes(app: Any) -> list[str]:
    """'METHOD path' for every route the app serves. Newer FastAPI keeps included routers as
    one entry each in `app.routes`; their routes come from `effective_route_contexts()`."""
    found: set[str] = set()
    for route in app.routes:
        expand = getattr(route, "effective_route_contexts", None)
        for each in expand() if expand else [route]:
            methods = set(getattr(each, "methods", None) or ())
            if "GET" in methods:
                methods.discard("HEAD")
            found |= {f"{method} {each.path}" for method in methods}
    return sorted(found)


ROUTES = app_routes(create_app(Settings(**FAST_HASHING)))


def test_every_route_of_the_app_has_a_policy():
    assert len(ROUTES) >= 29
    unclassified = sorted(set(ROUTES) - set(POLICIES))
    stale = sorted(set(POLICIES) - set(ROUTES))
    assert not unclassified, f"routes without an isolation policy: {unclassified}"
    assert not stale, f"policies for routes that no longer exist: {stale}"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(
    moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    """One running app and one set of resources for the whole matrix."""
    settings = Settings(
        aws_endpoint_url=moto_endpoint,
        bus_prefix=f"t{uuid.uuid4().hex[:10]}",
        var_dir=tmp_path_factory.mktemp("isolation"),
        bus_wait_seconds=1,
        # A's endpoint is on a closed local port and nothing is sent meanwhile
        webhook_allow_private=True,
        run_webhook_sender=False,
        **FAST_HASHING,
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client,
    ):
        service = SimpleNamespace(
            app=app, client=client, settings=settings, runtime=app.state.runtime
        )
        gw = Gateway(service)
        a_owner = await gw.signup(A_OWNER, team=A_TEAM)
        a_admin = await gw.invite_and_join(a_owner, A_ADMIN, role="admin")
        a_member = await gw.invite_and_join(a_owner, A_MEMBER, role="member")
        r = await gw.post(
            "/api/v1/invitations", {"email": A_INVITEE, "role": "member"}, as_=gw.user(a_owner)
        )
        assert r.status_code == 201, r.text
        invitation_id = r.json()["id"]
        invitation_token = link_token((await gw.events("member.invited"))[-1]["data"]["accept_url"])
        keys = []
        for name in ("alpha live", "alpha revoked"):
            r = await gw.post(
                "/api/v1/api-keys",
                {"name": name, "scopes": ["images:read", "generations:write"]},
                as_=gw.user(a_owner),
            )
            assert r.status_code == 201, r.text
            keys.append(r.json())
        key, revoked_key = keys
        r = await gw.client.delete(
            f"/api/v1/api-keys/{revoked_key['id']}", headers=gw.user(a_owner)
        )
        assert r.status_code == 204
        b_owner = await gw.signup(B_OWNER, team=B_TEAM)
        r = await gw.post(
            "/api/v1/api-keys", {"name": "beta", "scopes": ["images:read"]}, as_=gw.user(b_owner)
        )
        assert r.status_code == 201, r.text
        b_key = r.json()
        r = await gw.post(
            "/api/v1/webhooks/endpoints",
            {"url": "http://127.0.0.1:9/alpha-hooks", "event_types": ["image.created"]},
            as_=gw.user(a_owner),
        )
        assert r.status_code == 201, r.text
        webhook = r.json()
        r = await gw.post(f"/api/v1/webhooks/endpoints/{webhook['id']}/test", as_=gw.user(a_owner))
        assert r.status_code == 202, r.text
        delivery_id = r.json()["id"]
        markers = [
            webhook["id"],
            webhook["secret"],
            "alpha-hooks",
            delivery_id,
            A_TEAM,
            a_owner["tenant"]["id"],
            *(p["user"]["id"] for p in (a_owner, a_admin, a_member)),
            A_OWNER,
            A_ADMIN,
            A_MEMBER,
            A_INVITEE,
            invitation_id,
            *(k["id"] for k in keys),
            *(k["prefix"] for k in keys),
        ]
        yield World(
            gw=gw,
            a_owner=a_owner,
            a_admin=a_admin,
            a_member=a_member,
            invitation_id=invitation_id,
            invitation_token=invitation_token,
            key=key,
            revoked_key=revoked_key,
            b_owner=b_owner,
            b_key=b_key,
            a_markers=markers,
            webhook_id=webhook["id"],
            delivery_id=delivery_id,
        )


def bad_identities(w: World) -> dict[str, dict[str, str]]:
    """Headers that must all be refused with 401, built from A's owner's real identity."""
    claims = w.gw.claims(w.a_owner)
    identity = Identity(
        principal_id=claims["sub"],
        kind="user",
        tenant_id=claims["tid"],
        roles=tuple(claims["rol"]),
        session_id=claims["sid"],
    )
    secret = w.gw.settings.internal_secret.get_secret_value()
    good = issue(identity, secret, audience="tenants")
    head, payload, signature = good.split(".")
    altered = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    altered["tid"] = w.b_owner["tenant"]["id"]
    altered_payload = base64.urlsafe_b64encode(json.dumps(altered).encode()).rstrip(b"=").decode()
    return {
        "no identity": {},
        "garbled": {HEADER: "not-a-jwt"},
        "signed with another secret": {
            HEADER: issue(identity, "another secret " * 3, audience="tenants")
        },
        "payload altered": {HEADER: f"{head}.{altered_payload}.{signature}"},
        "expired": {HEADER: issue(identity, secret, audience="tenants", ttl=-120)},
    }


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("route", ROUTES)
async def test_isolation_matrix(world: World, route: str):
    policy = POLICIES.get(route)
    if policy is None:
        pytest.fail(f"{route} has no isolation policy: add it to POLICIES")
    if policy.who == "open":
        return
    w, gw = world, world.gw
    method = route.split(" ", 1)[0]
    path, body = policy.request(w)

    async def call(headers: dict[str, str]) -> httpx.Response:
        return await gw.client.request(method, path, json=body, headers=headers)

    def expect(response: httpx.Response, status: int, case: str) -> None:
        assert response.status_code == status, (
            f"{route} {case}: {response.status_code}, expected {status}: {response.text[:300]}"
        )
        if status >= 400:
            assert response.headers["content-type"].startswith(PROBLEM_JSON), (route, case)

    # (a), (b): without a valid identity from the gateway nothing is answered
    for case, headers in bad_identities(w).items():
        expect(await call(headers), 401, case)

    if policy.who == "internal" and path == "/internal/sessions/state":
        # (e) the gateway's session check: A's member is one of A, not of B
        r = await gw.post(path, body)
        expect(r, 200, "A's member in A")
        assert r.json()["member_since"] is not None
        b_tenant = w.b_owner["tenant"]["id"]
        r = await gw.post(path, {"user_id": w.a_member["user"]["id"], "tenant_id": b_tenant})
        expect(r, 200, "A's member in B")
        assert r.json()["member_since"] is None
        return
    if policy.who == "internal":
        # (e) the gateway's key check: a revoked key is refused, a live one is A's
        r = await gw.post(path, {"key": w.revoked_key["key"]})
        expect(r, 401, "revoked key")
        r = await gw.post(path, {"key": w.key["key"]})
        expect(r, 200, "live key")
        assert r.json()["tenant_id"] == w.a_tenant
        return
    if policy.who not in PEOPLE:
        return

    expect(await call(gw.anon()), 401, "anonymous")
    # (e) people-only: an API key is refused, its own tenant's or another's
    expect(await call(w.key_identity(w.key, w.a_tenant)), 403, "A's API key")
    expect(await call(w.key_identity(w.b_key, w.b_owner["tenant"]["id"])), 403, "B's API key")
    # (d) role checks inside A
    if (status := policy.member_status()) is not None:
        expect(await call(gw.user(w.a_member)), status, "A's member")
    if policy.who == "owner":
        expect(await call(gw.user(w.a_admin)), 403, "A's admin")
    # (c) tenant B's owner (admin and more) on A's ids: not found, or only B's own data
    r = await call(gw.user(w.b_owner))
    expect(r, policy.cross, "B's owner on A's resources")
    leaked = [m for m in w.a_markers if m in r.text]
    assert not leaked, f"{route}: B's answer shows A's {leaked}: {r.text[:300]}"


@pytest.mark.asyncio(loop_scope="module")
async def test_tenant_a_is_untouched_after_the_matrix(world: World):
    """Nothing in the matrix changed A: its people, roles, invitation, keys and sessions."""
    w, gw = world, world.gw
    owner = gw.user(w.a_owner)
    members = (await gw.get("/api/v1/members", as_=owner)).json()
    assert {(m["email"], m["role"]) for m in members} == {
        (A_OWNER, "owner"),
        (A_ADMIN, "admin"),
        (A_MEMBER, "member"),
    }
    invitations = (await gw.get("/api/v1/invitations", as_=owner)).json()
    assert [i["id"] for i in invitations] == [w.invitation_id]
    keys = {k["id"]: k["revoked_at"] for k in (await gw.get("/api/v1/api-keys", as_=owner)).json()}
    assert keys[w.key["id"]] is None and keys[w.revoked_key["id"]] is not None and len(keys) == 2
    me = (await gw.get("/api/v1/me", as_=owner)).json()
    assert me["tenant"]["id"] == w.a_tenant and me["role"] == "owner"
    # the refresh and log-out calls above never reached the handlers
    r = await gw.post("/api/v1/auth/refresh", {"refresh_token": w.a_owner["refresh_token"]})
    assert r.status_code == 200, r.text
    # and B acted only in B: its own invitation and key are there
    b = gw.user(w.b_owner)
    assert [i["email"] for i in (await gw.get("/api/v1/invitations", as_=b)).json()] == [
        "newcomer@gamma.example"
    ]
    assert {k["name"] for k in (await gw.get("/api/v1/api-keys", as_=b)).json()} == {
        "beta",
        "matrix",
    }
