"""The tenants service as the gateway sees it: the real app (services/conftest.py), with
helpers that forward requests with a signed internal identity the way the gateway does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
import sqlalchemy as sa
from pingvas_tenants.adapters.db import outbox
from pingvas_tenants.app import create_app
from pingvas_tenants.settings import Settings

from pingvas_kit.identity import Identity, IdentityHeaders

PASSWORD = "correct horse battery"
CLIENT_IP = "203.0.113.7"
# argon2id stays argon2id; cheaper parameters keep the suite fast
FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}


@dataclass
class Gateway:
    service: Any

    @property
    def client(self) -> httpx.AsyncClient:
        return self.service.client

    @property
    def settings(self) -> Settings:
        return self.service.settings

    @property
    def db(self):
        return self.service.runtime.db

    def _sign(self, identity: Identity) -> dict[str, str]:
        secret = self.settings.internal_secret.get_secret_value()
        return IdentityHeaders(identity, secret, audience=self.settings.service_name)

    def anon(self) -> dict[str, str]:
        return self._sign(
            Identity(
                principal_id="anonymous", kind="anonymous", tenant_id=None, client_ip=CLIENT_IP
            )
        )

    def claims(self, pair: dict[str, Any]) -> dict[str, Any]:
        return jwt.decode(
            pair["access_token"],
            self.settings.jwt_secret.get_secret_value(),
            algorithms=["HS256"],
            audience="pingvas-api",
            issuer="pingvas",
        )

    def user(self, pair: dict[str, Any]) -> dict[str, str]:
        """What the gateway forwards for a request with this access token."""
        c = self.claims(pair)
        return self._sign(
            Identity(
                principal_id=c["sub"],
                kind="user",
                tenant_id=c["tid"],
                roles=tuple(c["rol"]),
                platform_roles=tuple(c.get("prl") or ()),
                email_verified=c["evf"],
                session_id=c["sid"],
                client_ip=CLIENT_IP,
            )
        )

    def key(self, api_key_id: str, tenant_id: str, scopes: list[str]) -> dict[str, str]:
        return self._sign(
            Identity(
                principal_id=api_key_id, kind="api_key", tenant_id=tenant_id, scopes=tuple(scopes)
            )
        )

    async def post(
        self, path: str, body: Any = None, *, as_: dict[str, str] | None = None
    ) -> httpx.Response:
        return await self.client.post(
            path, json=body, headers=as_ if as_ is not None else self.anon()
        )

    async def get(self, path: str, *, as_: dict[str, str], **params: Any) -> httpx.Response:
        return await self.client.get(path, headers=as_, params=params)

    async def signup(
        self,
        email: str,
        team: str = "Haneul Studio",
        name: str = "Jiwoo Kim",
        locale: str = "ko",
        *,
        verified: bool = True,
    ) -> dict:
        """Sign up (202, no tokens), follow the mailed verification link unless `verified` is
        false, and log in as a person would: the log-in's token pair."""
        r = await self.post(
            "/api/v1/auth/signup",
            {
                "email": email,
                "password": PASSWORD,
                "name": name,
                "team_name": team,
                "locale": locale,
            },
        )
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "verification_sent" and "access_token" not in r.json()
        if verified:
            await self.verify(email)
        r = await self.login(email)
        assert r.status_code == 200, r.text
        return r.json()

    async def verify(self, email: str) -> None:
        """Follow the newest verification link mailed to `email`."""
        sent = [
            e
            for e in await self.events("user.verification_requested")
            if e["data"]["email"] == email.lower()
        ]
        url = sent[-1]["data"]["verification_url"]
        r = await self.post("/api/v1/auth/verify-email", {"token": link_token(url)})
        assert r.status_code == 200, r.text

    async def login(self, email: str, password: str = PASSWORD, **extra: Any) -> httpx.Response:
        return await self.post(
            "/api/v1/auth/login", {"email": email, "password": password, **extra}
        )

    async def events(self, type_suffix: str | None = None) -> list[dict[str, Any]]:
        """Envelopes written to the outbox, oldest first (`type_suffix`: e.g. 'user.registered')."""
        async with self.db.sessionmaker() as session:
            rows = (
                await session.execute(sa.select(outbox.c.body).order_by(outbox.c.position))
            ).all()
        envelopes = [json.loads(r.body) for r in rows]
        if type_suffix:
            envelopes = [e for e in envelopes if e["type"] == f"pingvas.tenants.{type_suffix}.v1"]
        return envelopes

    async def execute(self, statement: sa.Executable) -> None:
        async with self.db.transaction() as session:
            await session.execute(statement)

    async def invite_and_join(
        self, admin: dict, email: str, role: str = "member", name: str = "Alex Park"
    ) -> dict:
        """Invite `email` into the admin's tenant and accept as a new user; the new pair."""
        r = await self.post(
            "/api/v1/invitations", {"email": email, "role": role}, as_=self.user(admin)
        )
        assert r.status_code == 201, r.text
        token = (await self.events("member.invited"))[-1]["data"]["accept_url"].rsplit("/", 1)[1]
        r = await self.post(
            f"/api/v1/invitations/{token}/accept", {"name": name, "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        return r.json()


def link_token(url: str) -> str:
    return url.split("token=", 1)[1] if "token=" in url else url.rsplit("/", 1)[1]


@pytest.fixture
async def gw(run_service) -> AsyncIterator[Gateway]:
    async with run_service(create_app, Settings, **FAST_HASHING) as service:
        yield Gateway(service)


@pytest.fixture
def gateway_for(run_service):
    """For tests parametrised over `db_backend`: `async with gateway_for(db_backend) as gw`."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def start(overrides: dict[str, Any]) -> AsyncIterator[Gateway]:
        async with run_service(create_app, Settings, **FAST_HASHING, **overrides) as service:
            yield Gateway(service)

    return start
