"""Names of people and teams: no control characters, and something visible (422 with the
codes name-control-characters / name-blank)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Ji\x00woo", "name-control-characters"),
        ("Team\nTwo", "name-control-characters"),
        ("\x1b[31mRed", "name-control-characters"),
        ("\u200b\u200b", "name-blank"),
        ("\u3164\u3164", "name-blank"),
        ("\u2800 \u200d", "name-blank"),
        ("   ", "name-blank"),
    ],
)
async def test_names_of_people_and_teams_refuse_control_and_invisible_characters(gw, name, code):
    for field in ("name", "team_name"):
        body = {
            "email": "new@haneul.example",
            "password": "correct horse battery",
            "name": "Jiwoo",
            "team_name": "Haneul",
        }
        r = await gw.post("/api/v1/auth/signup", {**body, field: name})
        assert r.status_code == 422, r.text
        problem = r.json()
        assert problem["code"] == code and problem["type"].endswith(f"/{code}")
        assert (problem["errors"][0]["field"], problem["errors"][0]["code"]) == (field, code)
    assert await gw.events("user.registered") == []
    # names in other scripts and with emoji are fine
    r = await gw.post(
        "/api/v1/auth/signup",
        {**body, "name": "김지우 🐧", "team_name": "하늘 스튜디오"},
    )
    assert r.status_code == 202, r.text
