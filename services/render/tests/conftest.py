"""The render service as the gateway and the GPU workers see it: the real app in-process
(services/conftest.py) against moto's server, with helpers that forward requests with a
signed internal identity the way the gateway does, deliver events the way the bus does,
and call the internal API the way a worker does."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from aiobotocore.session import AioSession
from pingvas_render.adapters.db import entitlements, jobs, outbox
from pingvas_render.app import create_app
from pingvas_render.settings import Settings

from pingvas_contracts import EventData, envelope_of, example
from pingvas_contracts.events.tenants import TenantCreated
from pingvas_kit.dev.testing import ServiceHandle
from pingvas_kit.identity import Identity, IdentityHeaders

#: what every render test runs with: the tiny test model allowed, no dispatcher (the
#: tests play the dispatcher's part with `dispatch`), a quick sweeper and keep-alive
BASE = {
    "test_models": True,
    "dispatcher_enabled": False,
    "sweep_interval_s": 0.2,
    "sse_poll_s": 0.2,
}
TINY = {
    "prompt": "첫눈 내리는 한옥 마당",
    "model": "tiny-sd1",
    "width": 64,
    "height": 64,
    "steps": 4,
}


@dataclass
class Render(ServiceHandle):
    @property
    def hub(self):
        return self.service.app.state.render.hub

    @property
    def jobs(self):
        return self.service.app.state.render.jobs

    # -- the gateway's side ------------------------------------------------------------

    def _sign(self, identity: Identity) -> dict[str, str]:
        return IdentityHeaders(
            identity,
            self.settings.internal_secret.get_secret_value(),
            audience=self.settings.service_name,
        )

    def user(
        self,
        tenant_id: str,
        *,
        user_id: str | None = None,
        verified: bool = True,
        role: str = "member",
    ) -> dict[str, str]:
        return self._sign(
            Identity(
                principal_id=user_id or str(uuid.uuid4()),
                kind="user",
                tenant_id=tenant_id,
                roles=(role,),
                email_verified=verified,
            )
        )

    def key(
        self,
        tenant_id: str,
        scopes: list[str],
        key_id: str | None = None,
        *,
        verified: bool = True,
    ) -> dict[str, str]:
        """A key's identity; `verified`: its creator has verified their address (evf)."""
        return self._sign(
            Identity(
                principal_id=key_id or str(uuid.uuid4()),
                kind="api_key",
                tenant_id=tenant_id,
                scopes=tuple(scopes),
                email_verified=verified,
            )
        )

    async def generate(self, as_: dict[str, str], **body: Any) -> httpx.Response:
        headers = dict(as_)
        key = body.pop("idempotency_key", None)
        if key:
            headers["Idempotency-Key"] = key
        return await self.client.post("/api/v1/generations", json={**TINY, **body}, headers=headers)

    async def queued(self, as_: dict[str, str], **body: Any) -> dict[str, Any]:
        r = await self.generate(as_, **body)
        assert r.status_code == 202, r.text
        return r.json()

    async def get(self, path: str, as_: dict[str, str], **params: Any) -> httpx.Response:
        return await self.client.get(path, headers=as_, params=params)

    async def balance(self, tenant_id: str) -> dict[str, int]:
        e = (await self.get("/api/v1/entitlements", self.user(tenant_id))).json()
        return {"available": e["credits_available"], "reserved": e["credits_reserved"]}

    # -- the bus's side ----------------------------------------------------------------

    async def deliver(self, data: EventData, *, tenant_id: str) -> None:
        """Hand an event to render's consumer exactly as the bus would."""
        await self.runtime.consumer(envelope_of(data, tenant_id=tenant_id))

    async def tenant(self, *, credits: int | None = None, **limits: Any) -> str:
        """A new tenant on the Free plan (tenant.created), then `credits` and `limits`
        set directly."""
        tenant_id = str(uuid.uuid4())
        await self.deliver(
            example(
                TenantCreated,
                slug=f"t-{tenant_id[:8]}",
                owner_user_id=str(uuid.uuid4()),
                created_at=datetime.now(UTC),
            ),
            tenant_id=tenant_id,
        )
        values = dict(limits)
        if credits is not None:
            values["credits_available"] = credits
        if values:
            await self.execute(
                entitlements.update().where(entitlements.c.tenant_id == tenant_id).values(**values)
            )
        return tenant_id

    async def execute(self, statement: sa.Executable) -> None:
        async with self.db.transaction() as session:
            await session.execute(statement)

    async def events(self, suffix: str | None = None) -> list[dict[str, Any]]:
        """Envelopes written to the outbox, oldest first (`suffix`: e.g. 'job.queued')."""
        async with self.db.sessionmaker() as session:
            rows = (
                await session.execute(sa.select(outbox.c.body).order_by(outbox.c.position))
            ).all()
        envelopes = [json.loads(r.body) for r in rows]
        if suffix:
            envelopes = [e for e in envelopes if e["type"] == f"pingvas.render.{suffix}.v1"]
        return envelopes

    async def count(self, table: sa.Table, **where: Any) -> int:
        async with self.db.sessionmaker() as session:
            query = sa.select(sa.func.count()).select_from(table)
            for column, value in where.items():
                query = query.where(table.c[column] == value)
            return await session.scalar(query)

    # -- the dispatcher's and the worker's side ----------------------------------------

    async def dispatch(self, job_id: str) -> None:
        """What the dispatcher does before a worker can start the job."""
        await self.execute(
            jobs.update()
            .where(jobs.c.id == job_id, jobs.c.status == "queued")
            .values(status="dispatched", dispatched_at=datetime.now(UTC))
        )

    def worker_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.worker_token_value()}"}

    async def internal(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post(
            f"/internal/v1{path}", json=body, headers=self.worker_headers()
        )

    async def start(self, job_id: str, worker_id: str = "gpu-1") -> httpx.Response:
        await self.dispatch(job_id)
        return await self.internal(
            f"/jobs/{job_id}/start", {"worker_id": worker_id, "receive_count": 1}
        )

    async def upload(self, tenant_id: str, image_id: str) -> dict[str, Any]:
        """Store a PNG and thumbnail the way a worker does; the `images` entry of complete."""
        png = b"\x89PNG\r\n\x1a\n" + image_id.encode()
        png_key = f"tenants/{tenant_id}/images/{image_id}.png"
        thumb_key = f"tenants/{tenant_id}/images/{image_id}.thumb.webp"
        async with s3_client(self.settings) as s3:
            await s3.put_object(Bucket=self.settings.images_bucket, Key=png_key, Body=png)
            await s3.put_object(Bucket=self.settings.images_bucket, Key=thumb_key, Body=b"RIFF")
        return {
            "image_id": image_id,
            "png_key": png_key,
            "thumbnail_key": thumb_key,
            "size_bytes": len(png),
            "sha256": hashlib.sha256(png).hexdigest(),
        }

    async def complete(
        self, job: dict[str, Any], tenant_id: str, *, attempt: int = 1, images: int | None = None
    ) -> httpx.Response:
        """Upload the job's images and report it complete (as the worker that started it)."""
        item = await self.work_item(job["id"])
        done = []
        for index, image_id in enumerate(item["image_ids"][: images or len(item["image_ids"])]):
            uploaded = await self.upload(tenant_id, image_id)
            done.append({**uploaded, "index": index, "seed": item["request"]["seed"] + index})
        return await self.internal(
            f"/jobs/{job['id']}/complete",
            {"worker_id": "gpu-1", "attempt": attempt, "duration_ms": 1234, "images": done},
        )

    async def work_item(self, job_id: str) -> dict[str, Any]:
        async with self.db.sessionmaker() as session:
            row = (await session.execute(sa.select(jobs).where(jobs.c.id == job_id))).one()
        return {"image_ids": list(row.image_ids), "request": dict(row.request)}

    async def s3_keys(self, prefix: str = "tenants/") -> list[str]:
        async with s3_client(self.settings) as s3:
            answer = await s3.list_objects_v2(Bucket=self.settings.images_bucket, Prefix=prefix)
        return sorted(o["Key"] for o in answer.get("Contents", ()))

    async def wait_for_subscriber(self, job_id: str, timeout: float = 5.0) -> None:
        for _ in range(int(timeout / 0.01)):
            if self.hub.subscribers(job_id):
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"nobody subscribed to {job_id}")


@asynccontextmanager
async def s3_client(settings: Settings) -> AsyncIterator[Any]:
    async with AioSession().create_client(
        "s3", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url
    ) as s3:
        yield s3


def parse_sse(text: str) -> list[dict[str, Any]]:
    """The events of an SSE body: [{'id', 'event', 'data'}], comments as {'comment'}."""
    out = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        event: dict[str, Any] = {}
        for line in block.split("\n"):
            if line.startswith(":"):
                event["comment"] = line[1:].strip()
            elif ": " in line:
                field, value = line.split(": ", 1)
                event[field] = json.loads(value) if field == "data" else value
        out.append(event)
    return out


@pytest.fixture
async def render(run_service) -> AsyncIterator[Render]:
    async with run_service(create_app, Settings, **BASE) as service:
        yield Render(service)


@pytest.fixture
def render_for(run_service):
    """For tests parametrised over `db_backend`: `async with render_for(db_backend) as r`."""

    @asynccontextmanager
    async def start(overrides: dict[str, Any], **extra: Any) -> AsyncIterator[Render]:
        async with run_service(create_app, Settings, **{**BASE, **extra}, **overrides) as service:
            yield Render(service)

    return start
