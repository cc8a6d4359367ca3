"""The asynchronous client: `AsyncPingvas(api_key=...)`, the same calls awaited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal, TypeVar, overload

import httpx
from pydantic import BaseModel

from . import models as m
from ._core import (
    API,
    DEFAULT_BASE_URL,
    Backoff,
    ServerEvent,
    SSEParser,
    api_key_from_env,
    clean,
    default_headers,
    new_idempotency_key,
    retryable,
)
from .errors import APIConnectionError, APIError

T = TypeVar("T", bound=BaseModel)


class AsyncPingvas:
    """The Pingvas API, asynchronously (the same calls as Pingvas, awaited).

    Every POST carries an `Idempotency-Key` (a fresh one per call unless given, the same on
    its retries); 429, 5xx and connection failures are retried `max_retries` times with
    exponential back-off, honouring `Retry-After`. Errors raise `APIError`."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        headers: dict[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.backoff = Backoff(backoff, max_backoff)
        self.timeout = timeout
        self._own_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=timeout)
        self._headers = default_headers(api_key_from_env(api_key), headers)
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self.generations = Generations(self)
        self.images = Images(self)
        self.search = Search(self)
        self.webhooks = Webhooks(self)

    # -- plumbing ------------------------------------------------------------------------

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncPingvas:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def url(self, path: str) -> str:
        return self.base_url + API + path

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """One API call with the retries; the answer when it is a success, else APIError."""
        headers = dict(self._headers)
        if method.upper() == "POST":
            headers["Idempotency-Key"] = idempotency_key or new_idempotency_key()
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    method, self.url(path), json=json, params=params, headers=headers
                )
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise APIConnectionError(f"{method} {path}: {exc!r}") from exc
                await self._sleep(self.backoff.delay(attempt))
                attempt += 1
                continue
            if retryable(response.status_code) and attempt < self.max_retries:
                await self._sleep(self.backoff.delay(attempt, response))
                attempt += 1
                continue
            if response.status_code >= 400:
                raise APIError.from_response(response)
            return response

    async def _get(self, path: str, model: type[T], **params: Any) -> T:
        response = await self.request("GET", path, params=clean(params))
        return model.model_validate(response.json())

    async def _paginate(
        self, path: str, page: type[BaseModel], params: dict[str, Any]
    ) -> AsyncIterator[Any]:
        cursor: str | None = None
        while True:
            body = (
                await self.request("GET", path, params=clean({**params, "cursor": cursor}))
            ).json()
            parsed = page.model_validate(body)
            for item in parsed.items:  # type: ignore[attr-defined]
                yield item
            cursor = parsed.next_cursor  # type: ignore[attr-defined]
            if not cursor:
                return

    # -- the one-call way ----------------------------------------------------------------

    @overload
    async def generate(
        self,
        prompt: str,
        model: str,
        *,
        stream: Literal[False] = False,
        idempotency_key: str | None = None,
        **params: Any,
    ) -> m.JobOut: ...

    @overload
    async def generate(
        self,
        prompt: str,
        model: str,
        *,
        stream: Literal[True],
        idempotency_key: str | None = None,
        **params: Any,
    ) -> AsyncGenerationStream: ...

    async def generate(
        self,
        prompt: str,
        model: str,
        *,
        stream: bool = False,
        idempotency_key: str | None = None,
        **params: Any,
    ) -> m.JobOut | AsyncGenerationStream:
        """Queue a generation, then either wait for it to end (the finished generation:
        check `.status`, it may be failed or cancelled) or, with `stream=True`, return its
        progress as an iterator of ServerEvent (`.job` is the generation as queued)."""
        job = await self.generations.create(
            prompt=prompt, model=model, idempotency_key=idempotency_key, **params
        )
        events = AsyncGenerationStream(job, self.generations.events(job.id))
        if stream:
            return events
        async for _ in events:
            pass
        return await self.generations.get(job.id)


class AsyncGenerationStream:
    """A generation's events as they come; the stream ends with its last one."""

    def __init__(self, job: m.JobOut, events: AsyncIterator[ServerEvent]) -> None:
        self.job = job
        self._events = events

    def __aiter__(self) -> AsyncIterator[ServerEvent]:
        return self._events


class _Resource:
    def __init__(self, client: AsyncPingvas) -> None:
        self._client = client


class Generations(_Resource):
    async def create(
        self, *, prompt: str, model: str, idempotency_key: str | None = None, **params: Any
    ) -> m.JobOut:
        body = m.GenerationIn(prompt=prompt, model=model, **params)
        response = await self._client.request(
            "POST",
            "/generations",
            json=body.model_dump(mode="json", exclude_unset=True),
            idempotency_key=idempotency_key,
        )
        return m.JobOut.model_validate(response.json())

    async def get(self, job_id: str) -> m.JobOut:
        return await self._client._get(f"/generations/{job_id}", m.JobOut)

    async def cancel(self, job_id: str) -> m.JobOut:
        response = await self._client.request("POST", f"/generations/{job_id}/cancel")
        return m.JobOut.model_validate(response.json())

    def list(self, *, limit: int | None = None) -> AsyncIterator[m.JobOut]:
        """Every generation of the team, newest first, fetching page after page."""
        return self._client._paginate("/generations", m.JobPage, {"limit": limit})

    async def events(
        self, job_id: str, *, last_event_id: str | None = None, max_reconnects: int = 5
    ) -> AsyncIterator[ServerEvent]:
        """The job's server-sent events until its terminal one. A dropped connection (or a
        stream that ends early) is opened again with Last-Event-ID after the server's
        `retry:` delay, so nothing is missed; `max_reconnects` in a row without an event
        raise APIConnectionError."""
        client = self._client
        parser = SSEParser(last_event_id=last_event_id or "")
        failures = 0
        while True:
            headers = {**client._headers, "Accept": "text/event-stream"}
            if parser.last_event_id:
                headers["Last-Event-ID"] = parser.last_event_id
            error: Exception | None = None
            parser.restart()
            try:
                async with client._http.stream(
                    "GET",
                    client.url(f"/generations/{job_id}/events"),
                    headers=headers,
                    timeout=httpx.Timeout(client.timeout, read=max(client.timeout, 60.0)),
                ) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        if not retryable(response.status_code):
                            raise APIError.from_response(response)
                        error = APIError.from_response(response)
                    else:
                        async for line in response.aiter_lines():
                            event = parser.feed(line)
                            if event is None:
                                continue
                            failures = 0
                            yield event
                            if event.terminal:
                                return
            except httpx.TransportError as exc:
                error = exc
            failures += 1
            if failures > max_reconnects:
                raise APIConnectionError(
                    f"the events of {job_id} dropped {failures} times in a row: {error!r}"
                )
            wait = (
                parser.retry_ms / 1000
                if parser.retry_ms is not None
                else client.backoff.delay(failures - 1)
            )
            await client._sleep(wait)


class Images(_Resource):
    def list(self, *, limit: int | None = None) -> AsyncIterator[m.ImageOut]:
        """Every image of the team, newest first, fetching page after page."""
        return self._client._paginate("/images", m.ImagePage, {"limit": limit})

    async def get(self, image_id: str) -> m.ImageOut:
        return await self._client._get(f"/images/{image_id}", m.ImageOut)

    async def delete(self, image_id: str) -> None:
        await self._client.request("DELETE", f"/images/{image_id}")


class Search(_Resource):
    def images(
        self,
        q: str = "",
        *,
        model: str | None = None,
        since: str | None = None,
        until: str | None = None,
        sort: Literal["relevance", "newest"] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[m.ImageResult]:
        """Every image matching `q` (GET /api/v1/search/images), page after page;
        `since`/`until` are ISO 8601 times (the API's `from`/`to`)."""
        params = {"q": q, "model": model, "from": since, "to": until, "sort": sort}
        return self._client._paginate("/search/images", m.ImageResults, {**params, "limit": limit})


class Webhooks(_Resource):
    """Webhook endpoints, their delivery log and the per-request callback secret (owners and
    admins; an API key needs the `webhooks:write` scope)."""

    async def event_types(self) -> list[m.EventTypeOut]:
        return (await self._client._get("/webhooks/event-types", m.EventTypeList)).items

    async def create(
        self,
        *,
        url: str,
        event_types: list[str],
        description: str = "",
        enabled: bool = True,
    ) -> m.EndpointWithSecret:
        """A new endpoint; its `secret` (whsec_...) is in this answer only."""
        body = {
            "url": url,
            "event_types": event_types,
            "description": description,
            "enabled": enabled,
        }
        response = await self._client.request("POST", "/webhooks/endpoints", json=body)
        return m.EndpointWithSecret.model_validate(response.json())

    async def list(self) -> list[m.EndpointOut]:
        return (await self._client._get("/webhooks/endpoints", m.EndpointList)).items

    async def get(self, endpoint_id: str) -> m.EndpointOut:
        return await self._client._get(f"/webhooks/endpoints/{endpoint_id}", m.EndpointOut)

    async def update(self, endpoint_id: str, **fields: Any) -> m.EndpointOut:
        """Any of url, event_types, description, enabled."""
        response = await self._client.request(
            "PATCH", f"/webhooks/endpoints/{endpoint_id}", json=fields
        )
        return m.EndpointOut.model_validate(response.json())

    async def delete(self, endpoint_id: str) -> None:
        await self._client.request("DELETE", f"/webhooks/endpoints/{endpoint_id}")

    async def rotate_secret(self, endpoint_id: str) -> m.EndpointWithSecret:
        response = await self._client.request(
            "POST", f"/webhooks/endpoints/{endpoint_id}/rotate-secret"
        )
        return m.EndpointWithSecret.model_validate(response.json())

    async def test(self, endpoint_id: str) -> m.DeliveryOut:
        """Sends a `ping` to the endpoint."""
        response = await self._client.request("POST", f"/webhooks/endpoints/{endpoint_id}/test")
        return m.DeliveryOut.model_validate(response.json())

    def deliveries(
        self, endpoint_id: str, *, limit: int | None = None
    ) -> AsyncIterator[m.DeliveryOut]:
        """The endpoint's delivery log, newest first, page after page."""
        return self._client._paginate(
            f"/webhooks/endpoints/{endpoint_id}/deliveries", m.DeliveryPage, {"limit": limit}
        )

    async def delivery(self, delivery_id: str) -> m.DeliveryDetail:
        return await self._client._get(f"/webhooks/deliveries/{delivery_id}", m.DeliveryDetail)

    async def redeliver(self, delivery_id: str) -> m.DeliveryOut:
        response = await self._client.request(
            "POST", f"/webhooks/deliveries/{delivery_id}/redeliver"
        )
        return m.DeliveryOut.model_validate(response.json())

    async def callback_secret(self) -> str:
        """The team's secret that signs per-request callbacks (`webhook` on a generation)."""
        return (await self._client._get("/webhooks/callback-secret", m.CallbackSecretOut)).secret

    async def rotate_callback_secret(self) -> str:
        response = await self._client.request("POST", "/webhooks/callback-secret/rotate")
        return m.CallbackSecretOut.model_validate(response.json()).secret
