"""The services behind the gateway, and whether each one answers its /healthz."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx
from litestar.datastructures import State

UP = "ok"


class Upstreams:
    def __init__(
        self, urls: Mapping[str, str], *, client: httpx.AsyncClient, timeout: float
    ) -> None:
        self.urls = dict(urls)
        self.client = client
        self.timeout = timeout

    async def health(self) -> dict[str, str]:
        """{service: 'ok' or why it is down}, every upstream probed at once."""
        names = sorted(self.urls)
        states = await asyncio.gather(*(self._probe(self.urls[name]) for name in names))
        return dict(zip(names, states, strict=True))

    async def _probe(self, base_url: str) -> str:
        try:
            # one deadline for the whole exchange: httpx's own timeouts are per phase
            async with asyncio.timeout(self.timeout):
                response = await self.client.get(base_url.rstrip("/") + "/healthz")
        except TimeoutError:
            return "timeout"
        except httpx.HTTPError as exc:
            return type(exc).__name__
        return UP if response.status_code == 200 else f"HTTP {response.status_code}"


def upstreams_of(state: State) -> Upstreams:
    """The app's Upstreams, opened by its lifespan."""
    return state.upstreams
