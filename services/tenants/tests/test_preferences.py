"""A person's saved language: /me shows it, user.preferences_changed tells mail, and the
mail tenants asks for (a password reset) is in it from then on."""

EMAIL = "jiwoo.kim@haneul.example"


async def test_the_saved_language_is_announced_and_used_for_the_next_mail(gw):
    owner = await gw.signup(EMAIL, locale="ko")
    me = gw.user(owner)
    r = await gw.client.patch("/api/v1/me/preferences", json={"locale": "en"}, headers=me)
    assert r.status_code == 200, r.text
    assert r.json()["locale"] == "en"
    assert (await gw.get("/api/v1/me", as_=me)).json()["user"]["locale"] == "en"
    changed = await gw.events("user.preferences_changed")
    assert [e["data"]["locale"] for e in changed] == ["en"]
    assert changed[0]["data"]["user_id"] == owner["user"]["id"]
    # the same choice again says nothing new
    again = await gw.client.patch("/api/v1/me/preferences", json={"locale": "en"}, headers=me)
    assert again.status_code == 200 and len(await gw.events("user.preferences_changed")) == 1
    await gw.post("/api/v1/auth/password-reset", {"email": EMAIL})
    (reset,) = await gw.events("user.password_reset_requested")
    assert reset["data"]["locale"] == "en"


async def test_a_language_mail_does_not_speak_is_refused_with_a_code(gw):
    owner = await gw.signup(EMAIL)
    r = await gw.client.patch(
        "/api/v1/me/preferences", json={"locale": "fr"}, headers=gw.user(owner)
    )
    assert r.status_code == 422
    (error,) = r.json()["errors"]
    assert error["field"] == "locale" and error["code"] == "not-one-of"
    assert error["params"] == {"expected": "'ko', 'en'"}
    assert await gw.events("user.preferences_changed") == []


async def test_an_api_key_has_no_preferences(gw):
    owner = await gw.signup(EMAIL)
    key = gw.key("k1", owner["tenant"]["id"], ["images:read"])
    r = await gw.client.patch("/api/v1/me/preferences", json={"locale": "en"}, headers=key)
    assert r.status_code == 403 and r.json()["code"] == "not-a-person"
