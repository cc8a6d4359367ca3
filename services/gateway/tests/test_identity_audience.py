"""The identity the gateway forwards is for the one service the route goes to (`aud`) and
for that one request (`jti`): docs/identity.md, "The internal identity"."""

from __future__ import annotations

import jwt
import pytest
from gateway_support import GOOD_KEY, INTERNAL_SECRET, access_token, bearer, seen

from pingvas_kit.identity import InvalidIdentity, verify


def _claims(token: str) -> dict:
    return jwt.decode(token, INTERNAL_SECRET, algorithms=["HS256"], options={"verify_aud": False})


@pytest.mark.parametrize(
    ("path", "service"), [("/api/v1/me", "tenants"), ("/api/v1/models", "render")]
)
async def test_each_request_gets_a_token_for_its_service_only(client, path, service):
    token = access_token()
    first = seen(await client.get(path, headers=bearer(token)))
    second = seen(await client.get(path, headers=bearer(token)))
    assert first["service"] == service
    forwarded = [s["headers"]["x-pingvas-identity"] for s in (first, second)]
    claims = [_claims(t) for t in forwarded]
    assert [c["aud"] for c in claims] == [service, service]
    assert claims[0]["jti"] != claims[1]["jti"]
    assert verify(forwarded[0], INTERNAL_SECRET, audience=service).principal_id == "user-1"
    for other in {"tenants", "billing", "render", "mail", "search"} - {service}:
        with pytest.raises(InvalidIdentity):
            verify(forwarded[0], INTERNAL_SECRET, audience=other)


async def test_the_api_key_check_asks_tenants_with_a_token_for_tenants(client, tenants):
    tenants.verify_calls.clear()
    got = seen(await client.get("/api/v1/images", headers=bearer(GOOD_KEY)))
    assert _claims(got["headers"]["x-pingvas-identity"])["aud"] == "render"
    assert tenants.verify_calls
    for call in tenants.verify_calls:
        assert _claims(call)["aud"] == "tenants"
