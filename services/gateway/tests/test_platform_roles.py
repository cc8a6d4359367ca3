"""Platform roles (`prl` in the access token, docs/identity.md) reach the services in the
signed identity, for a bearer token and a session cookie alike; API keys never carry any."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gateway_support import (
    GOOD_KEY,
    INTERNAL_SECRET,
    Upstream,
    access_token,
    bearer,
    gateway,
    seen,
    standin_upstream,
)
from pingvas_gateway.auth.tokens import api_key_identity
from pingvas_gateway.settings import Settings

from pingvas_kit.identity import verify

ADMIN_TENANTS = "/api/v1/admin/tenants"


@pytest.fixture(scope="module")
def search() -> Iterator[Upstream]:
    yield from standin_upstream("search")


@pytest.fixture
async def client(settings: Settings, search: Upstream):
    upstreams = {**settings.upstreams, "search": search.url}
    async with gateway(settings.model_copy(update={"upstreams": upstreams})) as client:
        yield client


def forwarded(response):
    got = seen(response)
    return got["service"], verify(got["headers"]["x-pingvas-identity"], INTERNAL_SECRET)


async def test_an_operator_without_a_team_reaches_search_with_the_role(client):
    token = access_token(sub="staff-1", tid=None, rol=(), prl=("operator",))
    service, identity = forwarded(await client.get(ADMIN_TENANTS, headers=bearer(token)))
    assert service == "search"
    assert (identity.kind, identity.principal_id, identity.tenant_id) == ("user", "staff-1", None)
    assert identity.platform_roles == ("operator",)
    assert identity.roles == ()


async def test_an_operator_in_a_team_keeps_both_kinds_of_role(client):
    token = access_token(tid="tenant-1", rol=("member",), prl=("operator",))
    _, identity = forwarded(await client.get("/api/v1/me", headers=bearer(token)))
    assert (identity.tenant_id, identity.roles) == ("tenant-1", ("member",))
    assert identity.platform_roles == ("operator",)


async def test_the_session_cookie_carries_the_role_too(client):
    token = access_token(tid=None, rol=(), prl=("operator",))
    response = await client.get(ADMIN_TENANTS, headers={"cookie": f"pv_at={token}"})
    _, identity = forwarded(response)
    assert identity.platform_roles == ("operator",)


@pytest.mark.parametrize("prl", [None, ()], ids=["no-claim", "empty"])
async def test_everyone_else_has_no_platform_role(client, prl):
    token = access_token(rol=("owner",), prl=prl)
    _, identity = forwarded(await client.get(ADMIN_TENANTS, headers=bearer(token)))
    assert identity.roles == ("owner",) and identity.platform_roles == ()


async def test_an_api_key_never_has_a_platform_role(client):
    _, identity = forwarded(await client.get(ADMIN_TENANTS, headers=bearer(GOOD_KEY)))
    assert (identity.kind, identity.platform_roles) == ("api_key", ())
    # not even if the key check's answer claimed one
    answer = {
        "api_key_id": "key-7",
        "tenant_id": "tenant-9",
        "scopes": ["search:read"],
        "platform_roles": ["operator"],
        "prl": ["operator"],
    }
    identity = api_key_identity(answer, request_id="r1", client_ip="203.0.113.7")
    assert identity.platform_roles == ()
