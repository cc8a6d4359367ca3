"""The render service's internal API, as a worker calls it (docs/render.md, "Internal API").

Every call is retried with back-off while render is unreachable or answers 5xx: the job's
message stays invisible meanwhile (the heartbeat extends it), so an outcome is reported
late rather than lost. A 409 means render refuses the transition (the job was cancelled,
finished elsewhere, or ran out of attempts): the worker drops the job."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import aiohttp

from pingvas_kit import telemetry
from pingvas_kit.logging import get_logger

log = get_logger("pingvas.render.worker")


class JobRefused(Exception):
    def __init__(self, job_id: str, body: Any) -> None:
        super().__init__(f"render refused job {job_id}: {body}")
        self.body = body


class RenderApi:
    def __init__(self, base_url: str, token: str, *, max_wait_s: float = 300.0) -> None:
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._session: aiohttp.ClientSession | None = None
        self._max_wait_s = max_wait_s

    async def __aenter__(self) -> RenderApi:
        self._session = aiohttp.ClientSession(
            headers=self._headers, timeout=aiohttp.ClientTimeout(total=30)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def _post(
        self, path: str, body: dict[str, Any], *, job_id: str = "", retry: bool = True
    ) -> Any:
        assert self._session is not None, "use `async with RenderApi(...)`"
        delay, waited = 0.2, 0.0
        while True:
            try:
                headers: dict[str, str] = {}  # the traceparent of a CLIENT span per call
                # (a heartbeat, outside any job's trace, starts no trace of its own)
                with telemetry.client_span(
                    "POST", self._base + path, headers, only_in_trace=True
                ) as span:
                    async with self._session.post(
                        self._base + path, json=body, headers=headers
                    ) as response:
                        telemetry.set_status_code(span, response.status)
                        if response.status == 409:
                            raise JobRefused(job_id, await _body(response))
                        if response.status < 300:
                            return await _body(response)
                        if response.status < 500 and response.status != 429:
                            raise RuntimeError(
                                f"render answered {response.status} to {path}: "
                                f"{await response.text()}"
                            )
                        problem = f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = type(exc).__name__
            if not retry or waited >= self._max_wait_s:
                raise ConnectionError(f"render unreachable for {path}: {problem}")
            log.warning("worker.render_retry", path=path, problem=problem, wait_s=round(delay, 2))
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 10.0) * (0.8 + random.random() * 0.4)

    async def start(self, job_id: str, *, worker_id: str, receive_count: int) -> dict[str, Any]:
        return await self._post(
            f"/internal/v1/jobs/{job_id}/start",
            {"worker_id": worker_id, "receive_count": receive_count},
            job_id=job_id,
        )

    async def progress(
        self, job_id: str, *, attempt: int, progress: float, image_index: int, preview: str | None
    ) -> bool:
        """Posts progress; True when the job's cancellation was asked for. Progress is
        best effort: one failed post is skipped, not retried."""
        try:
            answer = await self._post(
                f"/internal/v1/jobs/{job_id}/progress",
                {
                    "attempt": attempt,
                    "progress": round(progress, 4),
                    "image_index": image_index,
                    "preview": preview,
                },
                job_id=job_id,
                retry=False,
            )
        except (ConnectionError, RuntimeError) as exc:
            log.warning("worker.progress_dropped", job_id=job_id, error=str(exc))
            return False
        return bool((answer or {}).get("cancel"))

    async def heartbeat(
        self, *, worker_id: str, job_ids: list[str], capacity: int = 0
    ) -> list[str]:
        """Extends the leases of `job_ids` and tells render the engine runs `capacity`
        image rows at once (sent every interval, also with no jobs in hand); the ids to
        stop."""
        try:
            answer = await self._post(
                "/internal/v1/heartbeat",
                {"worker_id": worker_id, "job_ids": job_ids, "capacity": capacity},
                retry=False,
            )
        except (ConnectionError, RuntimeError) as exc:
            log.warning("worker.heartbeat_failed", error=str(exc))
            return []
        return list((answer or {}).get("cancel", []))

    async def complete(self, job_id: str, body: dict[str, Any]) -> Any:
        return await self._post(f"/internal/v1/jobs/{job_id}/complete", body, job_id=job_id)

    async def fail(self, job_id: str, body: dict[str, Any]) -> Any:
        return await self._post(f"/internal/v1/jobs/{job_id}/fail", body, job_id=job_id)

    async def cancelled(self, job_id: str, *, worker_id: str, attempt: int) -> Any:
        return await self._post(
            f"/internal/v1/jobs/{job_id}/cancelled",
            {"worker_id": worker_id, "attempt": attempt},
            job_id=job_id,
        )


async def _body(response: aiohttp.ClientResponse) -> Any:
    if response.content_type.endswith("json"):
        return await response.json()
    text = await response.text()
    return {"detail": text} if text else None
