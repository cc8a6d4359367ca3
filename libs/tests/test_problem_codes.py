"""Every problem+json carries a stable `code`; each item of a 422's `errors` says what is
wrong as a code with the `params` a text needs, never only pydantic's English."""

from __future__ import annotations

from typing import Annotated, Literal

import httpx
import sqlalchemy as sa
from exo_support import make_settings
from fastapi import APIRouter, Query
from pydantic import BaseModel, EmailStr, Field
from pydantic_core import PydanticCustomError

from pingvas_contracts import ServiceSpec
from pingvas_kit.http import CodedHTTPException, create_app
from pingvas_kit.messaging import inbox_table, outbox_table
from pingvas_kit.problems import CODES, FIELD_CODES, field_error, register_field_codes
from pingvas_kit.service import ServiceRuntime


class Signup(BaseModel):
    password: str = Field(min_length=8, max_length=64)
    email: EmailStr
    locale: Literal["ko", "en"]
    tags: list[str] = Field(min_length=1)
    width: int = Field(ge=64, le=2048)


def _app(tmp_path):  # noqa: ANN001, ANN202
    md = sa.MetaData()
    outbox_table(md)
    inbox_table(md)
    spec = ServiceSpec(name="quiet", context=None, description="no events")
    runtime = ServiceRuntime(
        spec, make_settings({"var_dir": tmp_path}), metadata=md, migrations=None
    )
    router = APIRouter()

    @router.post("/signup")
    async def signup(body: Signup) -> dict:
        return {}

    @router.get("/list")
    async def listing(limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict:
        return {}

    @router.post("/teams")
    async def teams() -> dict:
        raise CodedHTTPException(409, "team-name-taken", "That name is taken.", name="acme")

    return create_app(runtime, routers=[router])


async def _call(app, method: str, path: str, **kw) -> httpx.Response:  # noqa: ANN001
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as c,
    ):
        return await c.request(method, path, **kw)


async def test_each_invalid_field_names_what_is_wrong_as_a_code_with_its_limits(tmp_path):
    body = {"password": "short", "email": "not-an-address", "locale": "fr", "tags": [], "width": 7}
    r = await _call(_app(tmp_path), "POST", "/signup", json=body)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == "validation-failed"
    assert problem["type"] == "https://pingvas.dev/problems/validation-failed"
    by_field = {e["field"]: e for e in problem["errors"]}
    assert by_field["password"]["code"] == "too-short"
    assert by_field["password"]["params"] == {"min_length": 8}
    assert by_field["email"]["code"] == "not-an-email"
    assert by_field["locale"]["code"] == "not-one-of"
    assert by_field["locale"]["params"] == {"expected": "'ko', 'en'"}
    assert by_field["tags"]["code"] == "too-few-items"
    assert by_field["tags"]["params"]["min_length"] == 1
    assert by_field["width"]["code"] == "too-small" and by_field["width"]["params"] == {"min": 64}
    # every code is one the SPA has a text for
    assert {e["code"] for e in problem["errors"]} <= FIELD_CODES


async def test_a_missing_field_and_a_query_that_is_not_a_number_have_codes(tmp_path):
    app = _app(tmp_path)
    r = await _call(app, "POST", "/signup", json={})
    assert {e["code"] for e in r.json()["errors"]} == {"missing"}
    r = await _call(app, "GET", "/list", params={"limit": "many"})
    assert r.json()["errors"] == [
        {
            "field": "query.limit",
            "message": r.json()["errors"][0]["message"],
            "code": "not-a-number",
        }
    ]
    r = await _call(app, "GET", "/list", params={"limit": "500"})
    assert r.json()["errors"][0]["code"] == "too-large"
    assert r.json()["errors"][0]["params"] == {"max": 100}


async def test_a_status_only_problem_says_its_code_by_name(tmp_path):
    r = await _call(_app(tmp_path), "GET", "/nowhere")
    assert r.status_code == 404 and r.json()["code"] == "not-found"
    assert r.json()["type"].endswith("/not-found")


async def test_a_coded_refusal_carries_its_code_and_members(tmp_path):
    r = await _call(_app(tmp_path), "POST", "/teams")
    assert r.status_code == 409
    assert r.json()["code"] == "team-name-taken" and r.json()["name"] == "acme"
    assert r.json()["type"].endswith("/team-name-taken") and r.json()["detail"]
    assert CODES["team-name-taken"] == 409


def test_a_registered_custom_error_keeps_its_code_and_an_unknown_one_is_invalid():
    (code,) = register_field_codes("password-too-common")
    error = PydanticCustomError(code, "is too common")
    item = field_error({"type": error.type, "loc": ("body", "password"), "msg": str(error)})
    assert item == {"field": "password", "message": "is too common", "code": code}
    item = field_error({"type": "value_error", "loc": ("name",), "msg": "Value error, nope"})
    assert item["code"] == "invalid"
