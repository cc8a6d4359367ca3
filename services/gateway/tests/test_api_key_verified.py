"""An API key's identity carries whether its creator has verified their address (tenants'
key check answers `email_verified`): render's verified-email rule for generating."""

from pingvas_gateway.auth.tokens import api_key_identity

ANSWER = {"api_key_id": "key-7", "tenant_id": "tenant-9", "scopes": ["generations:write"]}


def test_a_key_identity_is_verified_only_when_tenants_says_so():
    def evf(**extra):
        return api_key_identity(
            {**ANSWER, **extra}, request_id="r1", client_ip="203.0.113.7"
        ).email_verified

    assert evf(email_verified=True) is True
    assert evf(email_verified=False) is False
    assert evf() is False  # an answer without it (an older tenants): not verified
    assert evf(email_verified="yes") is False
