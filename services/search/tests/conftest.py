"""The search service under test: its real app (embedded engine, its database, moto's
server), events handed to its consumer exactly as the bus hands them, and callers
signed as the gateway signs them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pingvas_search.app import create_app
from pingvas_search.settings import Settings

from pingvas_contracts import EventData, envelope_of, example
from pingvas_contracts.events.render import ImageCreated, ImageDeleted
from pingvas_kit.dev.testing import ServiceHandle
from pingvas_kit.identity import Identity, IdentityHeaders

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@dataclass
class Search(ServiceHandle):
    clock: int = 0

    #: the first image's created_at is t0 + 1 minute, the next t0 + 2, ...
    t0 = T0

    @property
    def engine(self):
        return self.app.state.search.engine

    # -- the gateway's side ------------------------------------------------------------

    def _sign(self, identity: Identity) -> dict[str, str]:
        return IdentityHeaders(
            identity,
            self.settings.internal_secret.get_secret_value(),
            audience=self.settings.service_name,
        )

    def user(
        self, tenant_id: str, *, role: str = "member", platform_roles: tuple[str, ...] = ()
    ) -> dict[str, str]:
        return self._sign(
            Identity(
                principal_id=str(uuid.uuid4()),
                kind="user",
                tenant_id=tenant_id,
                roles=(role,),
                email_verified=True,
                platform_roles=platform_roles,
            )
        )

    def key(self, tenant_id: str, scopes: tuple[str, ...]) -> dict[str, str]:
        return self._sign(
            Identity(
                principal_id=str(uuid.uuid4()), kind="api_key", tenant_id=tenant_id, scopes=scopes
            )
        )

    def operator(self, tenant_id: str | None = None) -> dict[str, str]:
        return self._sign(
            Identity(
                principal_id=str(uuid.uuid4()),
                kind="user",
                tenant_id=tenant_id,
                roles=("owner",) if tenant_id else (),
                email_verified=True,
                platform_roles=("operator",),
            )
        )

    async def find(self, as_: dict[str, str], **params: Any) -> httpx.Response:
        return await self.client.get("/api/v1/search/images", params=params, headers=as_)

    async def found(self, tenant_id: str, q: str = "", **params: Any) -> list[str]:
        """The prompts `q` finds for a member of the tenant, in order."""
        r = await self.find(self.user(tenant_id), q=q, **params)
        assert r.status_code == 200, r.text
        return [item["prompt"] for item in r.json()["items"]]

    async def suggest(self, as_: dict[str, str], q: str = "", **params: Any) -> httpx.Response:
        return await self.client.get(
            "/api/v1/search/suggest", params={"q": q, **params}, headers=as_
        )

    # -- the bus's side ----------------------------------------------------------------

    async def deliver(self, data: EventData, *, tenant_id: str) -> str:
        """Hand an event to search's consumer exactly as the bus would; its id."""
        envelope = envelope_of(data, tenant_id=tenant_id)
        await self.runtime.consumer(envelope)
        return envelope.id

    def image(self, tenant_id: str, prompt: str, **fields: Any) -> ImageCreated:
        """A `render.image.created` payload; each one a minute newer than the last."""
        self.clock += 1
        image_id = fields.pop("image_id", None) or str(uuid.uuid4())
        job_id = str(uuid.uuid4())
        defaults = {
            "image_id": image_id,
            "job_id": job_id,
            "user_id": str(uuid.uuid4()),
            "index": 0,
            "prompt": prompt,
            "negative_prompt": "",
            "model": "tiny-sd1",
            "width": 64,
            "height": 64,
            "seed": 42,
            "steps": 8,
            "cfg_scale": 7.5,
            "scheduler": "euler",
            "png_key": f"tenants/{tenant_id}/images/{image_id}.png",
            "thumbnail_key": f"tenants/{tenant_id}/images/{image_id}.webp",
            "size_bytes": 1234,
            "sha256": "0" * 64,
            "created_at": T0 + timedelta(minutes=self.clock),
        }
        return example(ImageCreated, **{**defaults, **fields})

    async def created(self, tenant_id: str, prompt: str, **fields: Any) -> str:
        data = self.image(tenant_id, prompt, **fields)
        await self.deliver(data, tenant_id=tenant_id)
        return data.image_id

    async def deleted(self, tenant_id: str, image_id: str) -> None:
        await self.deliver(
            example(
                ImageDeleted,
                image_id=image_id,
                job_id=str(uuid.uuid4()),
                deleted_by_user_id=None,
                reason="user",
                deleted_at=datetime.now(UTC),
            ),
            tenant_id=tenant_id,
        )


@pytest.fixture
def search_for(run_service):
    """`async with search_for(**overrides) as s` (e.g. a db_backend's dict)."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Search]:
        async with run_service(create_app, Settings, run_consumers=False, **overrides) as service:
            yield Search(service)

    return start


@pytest.fixture
async def search(search_for) -> AsyncIterator[Search]:
    async with search_for() as s:
        yield s
