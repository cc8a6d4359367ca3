"""Reads the public JSON of another service's object, as a partner's GET would get it: the
webhook payload is exactly what `GET /api/v1/generations/{id}` (render) or
`GET /api/v1/billing/subscription` (billing) answers, never an internal event.

The request carries an identity minted for the tenant (a read-only member, principal
`webhooks`), signed with the internal secret like the gateway's, so the owning service
applies its own tenant isolation. A 404 is None; any other failure raises PublicApiError,
and the event that needed it is retried by the bus."""

from __future__ import annotations

from typing import Any

import httpx

from pingvas_kit.identity import HEADER, Identity, issue

PRINCIPAL = "webhooks"


class PublicApiError(RuntimeError):
    """The owning service did not answer with the object (it is down, or failed)."""


class PublicApi:
    def __init__(self, urls: dict[str, str], internal_secret: str, *, timeout: float = 10.0):
        self.urls = {name: url.rstrip("/") for name, url in urls.items()}
        self._secret = internal_secret
        self._client = httpx.AsyncClient(timeout=timeout)

    async def get(self, service: str, path: str, *, tenant_id: str) -> dict[str, Any] | None:
        identity = Identity(
            principal_id=PRINCIPAL,
            kind="user",
            tenant_id=tenant_id,
            roles=("member",),
            email_verified=True,
        )
        token = issue(identity, self._secret, audience=service)
        try:
            response = await self._client.get(self.urls[service] + path, headers={HEADER: token})
        except httpx.HTTPError as exc:
            raise PublicApiError(f"{service} did not answer ({type(exc).__name__})") from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise PublicApiError(f"{service} answered {response.status_code} for {path}")
        body = response.json()
        if not isinstance(body, dict):
            raise PublicApiError(f"{service} answered a {type(body).__name__} for {path}")
        return body

    async def close(self) -> None:
        await self._client.aclose()
