"""Stand-in upstream services: small Starlette apps served by uvicorn on loopback ports.

They echo what reached them (method, path, query, headers, body), answer token-shaped JSON
on the auth routes, play tenants' /internal/api-keys/verify, and serve an /openapi.json."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
import uvicorn
from litestar.testing import AsyncTestClient
from pingvas_gateway.app import create_app
from pingvas_gateway.settings import Settings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from pingvas_kit.ports import free_port

JWT_SECRET = "test-jwt-secret-0123456789abcdef0123456789"
INTERNAL_SECRET = "test-internal-secret-0123456789abcdef012345"
GOOD_KEY = "pvk_goodpref_" + "A" * 32
REVOKED_KEY = "pvk_badprefx_" + "B" * 32


def access_token(
    *,
    sub: str = "user-1",
    tid: str | None = "tenant-1",
    rol: tuple[str, ...] = ("admin",),
    sid: str | None = None,
    ttl: int = 900,
    secret: str = JWT_SECRET,
    aud: str = "pingvas-api",
    iss: str = "pingvas",
    prl: tuple[str, ...] | None = None,
    uver: int | None = None,
    iat: int | None = None,
) -> str:
    """An access token as tenants issues it; `prl` (platform roles) left out when None, as in
    a token issued before platform roles existed."""
    now = int(time.time()) if iat is None else iat
    claims = {
        "iss": iss,
        "aud": aud,
        "sub": sub,
        "tid": tid,
        "rol": list(rol),
        "evf": True,
        "sid": sid or uuid.uuid4().hex,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + ttl,
    }
    if prl is not None:
        claims["prl"] = list(prl)
    if uver is not None:
        claims["uver"] = uver
    return jwt.encode(claims, secret, algorithm="HS256")


@dataclass
class Upstream:
    name: str
    url: str = ""
    verify_calls: list[str] = field(default_factory=list)
    #: (user id, tenant id) -> tenants' answer on that session state (the default: a person
    #: at token version 0, a member since the epoch of any tenant asked about)
    session_states: dict[tuple[str, str | None], dict[str, Any]] = field(default_factory=dict)
    state_calls: list[dict[str, Any]] = field(default_factory=list)
    #: answer the session-state check with this status instead (e.g. 503)
    state_status: int = 200
    #: keys tenants refuses from now on (revoked, or their tenant deleted)
    refused_keys: set[str] = field(default_factory=set)


async def _events(request: Request):
    """A live stream lasting longer than the gateway's upstream timeout, each event within
    it: the stream must arrive whole. Echoes Last-Event-ID in the first event."""
    yield f"id: 1\nevent: hello\ndata: {request.headers.get('last-event-id', '')}\n\n"
    for n in (2, 3, 4):
        await asyncio.sleep(0.3)
        yield f"id: {n}\nevent: tick\ndata: {n}\n\n"


def _standin(upstream: Upstream, openapi: dict[str, Any]) -> Starlette:
    async def echo(request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        if path.endswith("/slow"):
            await asyncio.sleep(2.0)
        if path.endswith("/big"):
            return Response(b"x" * 300_000, media_type="application/octet-stream")
        if path.endswith("/events"):
            return StreamingResponse(_events(request), media_type="text/event-stream")
        seen = {
            "service": upstream.name,
            "method": request.method,
            "path": path,
            "query": request.url.query,
            "headers": dict(request.headers),
            "body": body.decode(errors="replace"),
        }
        if path == "/api/v1/auth/login" and b'"password": "wrong"' in body.replace(b'":"', b'": "'):
            return JSONResponse({"title": "Unauthorized", "status": 401}, status_code=401)
        if path in {
            "/api/v1/auth/login",
            "/api/v1/auth/signup",
            "/api/v1/auth/refresh",
            "/api/v1/invitations/tok123/accept",
        }:
            return JSONResponse(
                {
                    "access_token": access_token(sid="sid-from-login"),
                    "token_type": "bearer",
                    "expires_in": 900,
                    "refresh_token": "pvr_" + "r" * 43,
                    "user": {"id": "user-1", "email": "a@example.com"},
                    "tenant": {"id": "tenant-1"},
                    "role": "owner",
                    "seen": seen,
                },
                headers={"set-cookie": "upstream=1", "x-upstream": upstream.name},
            )
        return JSONResponse(seen, headers={"set-cookie": "upstream=1", "x-upstream": upstream.name})

    async def verify_key(request: Request) -> Response:
        key = (await request.json())["key"]
        upstream.verify_calls.append(request.headers.get("x-pingvas-identity", ""))
        if key in upstream.refused_keys:
            return JSONResponse({"detail": "no"}, status_code=401)
        if key == GOOD_KEY or key.startswith("pvk_good"):
            return JSONResponse(
                {
                    "api_key_id": "key-7",
                    "tenant_id": "tenant-9",
                    "scopes": ["images:read"],
                    "name": "ci",
                }
            )
        return JSONResponse({"detail": "no"}, status_code=401)

    async def session_state(request: Request) -> Response:
        body = await request.json()
        upstream.state_calls.append(body)
        if upstream.state_status != 200:
            return JSONResponse({"detail": "down"}, status_code=upstream.state_status)
        user_id, tenant_id = body["user_id"], body.get("tenant_id")
        answer = {
            "user_exists": True,
            "token_version": 0,
            "tenant_id": tenant_id,
            "member_since": 0 if tenant_id is not None else None,
        }
        answer.update(upstream.session_states.get((user_id, tenant_id), {}))
        return JSONResponse(answer)

    async def openapi_doc(_request: Request) -> Response:
        return JSONResponse(openapi)

    return Starlette(
        routes=[
            Route("/internal/api-keys/verify", verify_key, methods=["POST"]),
            Route("/internal/sessions/state", session_state, methods=["POST"]),
            Route("/openapi.json", openapi_doc),
            Route("/{path:path}", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        ]
    )


def _openapi(service: str, paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": service, "version": "0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


TENANTS_OPENAPI = _openapi(
    "tenants",
    {
        "/api/v1/auth/login": {
            "post": {"responses": {"200": {"$ref": "#/components/schemas/Problem"}}}
        },
        "/api/v1/me": {
            "get": {
                "parameters": [{"name": "x-pingvas-identity", "in": "header"}],
                "responses": {"200": {"$ref": "#/components/schemas/Me"}},
            }
        },
        "/internal/api-keys/verify": {"post": {"responses": {}}},
        "/healthz": {"get": {"responses": {}}},
    },
    {"Problem": {"type": "object", "title": "tenants"}, "Me": {"type": "object"}},
)
RENDER_OPENAPI = _openapi(
    "render",
    {
        "/api/v1/generations": {
            "post": {"responses": {"200": {"$ref": "#/components/schemas/Problem"}}}
        }
    },
    {"Problem": {"type": "object", "title": "render"}},
)


def _serve(app: Starlette) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "stand-in upstream did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


@pytest.fixture(scope="session")
def tenants() -> Iterator[Upstream]:
    upstream = Upstream("tenants")
    for url in _serve(_standin(upstream, TENANTS_OPENAPI)):
        upstream.url = url
        yield upstream


@pytest.fixture(scope="session")
def render() -> Iterator[Upstream]:
    upstream = Upstream("render")
    for url in _serve(_standin(upstream, RENDER_OPENAPI)):
        upstream.url = url
        yield upstream


def standin_upstream(name: str) -> Iterator[Upstream]:
    """Another echoing stand-in service, for a test module's own fixture (e.g. mail)."""
    upstream = Upstream(name)
    for url in _serve(_standin(upstream, _openapi(name, {}, {}))):
        upstream.url = url
        yield upstream


@pytest.fixture
def settings(tenants: Upstream, render: Upstream, tmp_path) -> Settings:
    return Settings(
        upstreams={
            "tenants": tenants.url,
            "render": render.url,
            "billing": tenants.url,  # anything that echoes
            "search": f"http://127.0.0.1:{free_port()}",  # nothing listens
        },
        jwt_secret=JWT_SECRET,
        internal_secret=INTERNAL_SECRET,
        upstream_timeout=0.5,
        web_dist=tmp_path / "no-build",
    )


def gateway(settings: Settings) -> AsyncTestClient:
    # loopback over http: the session cookies are not Secure there (docs/identity.md)
    return AsyncTestClient(app=create_app(settings), base_url="http://127.0.0.1")


@pytest.fixture
async def client(settings: Settings):
    async with gateway(settings) as client:
        yield client


def seen(response) -> dict[str, Any]:
    """What the stand-in upstream received."""
    assert response.status_code < 300, response.text
    body = response.json()
    return body.get("seen", body)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def dumps(value: Any) -> str:
    return json.dumps(value)
