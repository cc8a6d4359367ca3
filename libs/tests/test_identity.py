"""The internal identity: platform roles (`prl`) travel gateway → service, and
`require_platform_role` lets only the platform's operators through, with or without a team;
a token is for one service (`aud`) and opens one request (`jti`, ReplayGuard)."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
import sqlalchemy as sa
from exo_support import make_settings
from fastapi import APIRouter

from pingvas_contracts import ServiceSpec
from pingvas_kit.http import create_app
from pingvas_kit.identity import (
    HEADER,
    ISSUER,
    Identity,
    IdentityHeaders,
    InvalidIdentity,
    ReplayGuard,
    issue,
    require_platform_role,
    require_role,
    verify,
)
from pingvas_kit.messaging import inbox_table, outbox_table
from pingvas_kit.service import ServiceRuntime

SECRET = "test-internal-secret-0123456789abcdef012345"
#: the test service's name (exo_support.ExoSettings): its tokens' audience
AUDIENCE = "exo"

OPERATOR_WITHOUT_TEAM = Identity(
    principal_id="u-op", kind="user", tenant_id=None, platform_roles=("operator",)
)
OPERATOR_IN_A_TEAM = Identity(
    principal_id="u-op",
    kind="user",
    tenant_id="t-1",
    roles=("member",),
    platform_roles=("operator",),
)
TENANT_OWNER = Identity(principal_id="u-own", kind="user", tenant_id="t-1", roles=("owner",))
API_KEY = Identity(principal_id="key-1", kind="api_key", tenant_id="t-1", scopes=("search:read",))
ANONYMOUS = Identity(principal_id="anonymous", kind="anonymous", tenant_id=None)


def test_platform_roles_survive_the_trip_through_the_internal_jwt():
    token = issue(OPERATOR_IN_A_TEAM, SECRET, audience=AUDIENCE)
    assert jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE)["prl"] == ["operator"]
    back = verify(token, SECRET, audience=AUDIENCE)
    assert back.platform_roles == ("operator",)
    assert (back.tenant_id, back.roles) == ("t-1", ("member",))
    owner = issue(TENANT_OWNER, SECRET, audience=AUDIENCE)
    assert verify(owner, SECRET, audience=AUDIENCE).platform_roles == ()


def test_an_identity_signed_before_platform_roles_existed_has_none():
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 60, "sub": "u1"}
    claims["jti"] = "j-1"
    token = jwt.encode(claims | {"knd": "user", "tid": "t-1", "rol": ["owner"]}, SECRET)
    assert verify(token, SECRET, audience=AUDIENCE).platform_roles == ()


@pytest.mark.parametrize("kind", ["api_key", "anonymous"])
def test_only_people_carry_platform_roles(kind):
    with pytest.raises(ValueError):
        Identity(principal_id="x", kind=kind, tenant_id="t-1", platform_roles=("operator",))
    # a token claiming one for a key is refused, not half-believed
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 60, "sub": "key-1"}
    token = jwt.encode(claims | {"jti": "j-2", "knd": kind, "prl": ["operator"]}, SECRET)
    with pytest.raises(InvalidIdentity):
        verify(token, SECRET, audience=AUDIENCE)


@pytest.fixture
async def service(tmp_path):
    md = sa.MetaData()
    outbox_table(md)
    inbox_table(md)
    spec = ServiceSpec(name="quiet", context=None, description="no events")
    settings = make_settings({"var_dir": tmp_path, "internal_secret": SECRET})
    runtime = ServiceRuntime(spec, settings, metadata=md, migrations=None)
    router = APIRouter()

    @router.get("/admin/tenants", dependencies=[require_platform_role("operator")])
    async def every_tenant() -> dict:
        return {"tenants": []}

    @router.get("/members", dependencies=[require_role("admin")])
    async def members() -> dict:
        return {"members": []}

    app = create_app(runtime, routers=[router])
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        yield client


def as_(identity: Identity) -> dict[str, str]:
    return {HEADER: issue(identity, SECRET, audience=AUDIENCE)}


async def test_an_operator_gets_in_with_or_without_a_team(service):
    for operator in (OPERATOR_WITHOUT_TEAM, OPERATOR_IN_A_TEAM):
        r = await service.get("/admin/tenants", headers=as_(operator))
        assert r.status_code == 200, r.text
        assert r.json() == {"tenants": []}


async def test_everyone_else_is_kept_out(service):
    r = await service.get("/admin/tenants", headers=as_(TENANT_OWNER))
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail"] == "This needs the platform operator role."
    assert (await service.get("/admin/tenants", headers=as_(API_KEY))).status_code == 403
    assert (await service.get("/admin/tenants", headers=as_(ANONYMOUS))).status_code == 401
    assert (await service.get("/admin/tenants")).status_code == 401


async def test_a_platform_role_is_not_a_tenant_role(service):
    # an operator who is a plain member of their team is no admin there
    r = await service.get("/members", headers=as_(OPERATOR_IN_A_TEAM))
    assert r.status_code == 403
    r = await service.get("/members", headers=as_(OPERATOR_WITHOUT_TEAM))
    assert r.status_code == 403 and r.json()["detail"] == "Choose a team first."


# -- one service, one request ---------------------------------------------------------------


def test_a_token_names_one_service_and_another_refuses_it():
    token = issue(TENANT_OWNER, SECRET, audience="render")
    assert verify(token, SECRET, audience="render").tenant_id == "t-1"
    for other in ("billing", "tenants", "mail", "search"):
        with pytest.raises(InvalidIdentity):
            verify(token, SECRET, audience=other)
    with pytest.raises(ValueError):
        issue(TENANT_OWNER, SECRET, audience="")


def test_the_old_shared_audience_and_a_list_of_audiences_are_refused():
    now = int(time.time())
    base = {"iss": ISSUER, "iat": now, "exp": now + 60, "sub": "u1", "knd": "user", "jti": "j"}
    for aud in ("pingvas-services", ["exo", "billing"]):
        token = jwt.encode(base | {"aud": aud}, SECRET)
        with pytest.raises(InvalidIdentity):
            verify(token, SECRET, audience=AUDIENCE)


def test_a_token_without_an_id_is_refused():
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 60, "sub": "u1"}
    token = jwt.encode(claims | {"knd": "user"}, SECRET)
    with pytest.raises(InvalidIdentity):
        verify(token, SECRET, audience=AUDIENCE)


def test_each_token_has_its_own_id():
    a, b = (issue(TENANT_OWNER, SECRET, audience=AUDIENCE) for _ in range(2))
    ids = {jwt.decode(t, SECRET, algorithms=["HS256"], audience=AUDIENCE)["jti"] for t in (a, b)}
    assert len(ids) == 2


def test_the_replay_guard_refuses_a_second_sight_until_the_token_expires():
    guard = ReplayGuard()
    token = issue(TENANT_OWNER, SECRET, audience=AUDIENCE)
    assert verify(token, SECRET, audience=AUDIENCE, replay=guard).tenant_id == "t-1"
    with pytest.raises(InvalidIdentity, match="replayed"):
        verify(token, SECRET, audience=AUDIENCE, replay=guard)
    # an id is forgotten once its token has expired (the token itself is refused by then)
    assert guard.first_sight("j", 100.0, now=50.0)
    assert not guard.first_sight("j", 100.0, now=99.0)
    assert guard.first_sight("k", 200.0, now=150.0)
    assert "j" not in guard._expiry


def test_the_replay_guard_is_bounded():
    guard = ReplayGuard(capacity=3)
    for i in range(10):
        assert guard.first_sight(f"j{i}", 1000.0 + i, now=0.0)
    assert len(guard) == 3
    # the newest are remembered; the ones expiring soonest were dropped first
    assert not guard.first_sight("j9", 1009.0, now=0.0)


async def test_a_service_refuses_a_replayed_identity(service):
    headers = as_(OPERATOR_IN_A_TEAM)
    assert (await service.get("/admin/tenants", headers=headers)).status_code == 200
    again = await service.get("/admin/tenants", headers=headers)
    assert again.status_code == 401
    assert again.json()["detail"] == "The forwarded identity is not valid."
    # a fresh token for the same person is fine
    assert (await service.get("/admin/tenants", headers=as_(OPERATOR_IN_A_TEAM))).status_code == 200


async def test_a_service_refuses_a_token_for_another_service(service):
    token = issue(OPERATOR_IN_A_TEAM, SECRET, audience="render")
    r = await service.get("/admin/tenants", headers={HEADER: token})
    assert r.status_code == 401


async def test_identity_headers_send_one_identity_with_several_requests(service):
    headers = IdentityHeaders(OPERATOR_IN_A_TEAM, SECRET, audience=AUDIENCE)
    for _ in range(3):
        assert (await service.get("/admin/tenants", headers=headers)).status_code == 200
    assert SECRET not in repr(headers)
