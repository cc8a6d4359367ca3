"""The worker loop: keep as many images in hand as the engine has rows (the batched
engine's `capacity`; `prefetch` for InvokeAI alone: one denoising, the next already queued
in it), so the GPU never waits for the queue; extend their messages' visibility while
they run, tell render the capacity in every heartbeat (its dispatcher keeps the queue as
deep as the workers' free rows), and report each job's outcome to render before deleting
its message.

A crash anywhere before that delete leaves the message to reappear for another worker;
render counts the attempt, and the job's fixed image ids mean a second run overwrites the
first run's objects: one image per request, one charge."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from opentelemetry.trace import SpanKind
from prometheus_client import Histogram

from pingvas_kit import telemetry
from pingvas_kit.logging import get_logger

from ..catalog import CatalogModel
from ..engine import EngineError, EngineJob
from .images import png_key, prepare, thumbnail_key
from .render_api import JobRefused, RenderApi
from .settings import WorkerSettings
from .storage import ImageStore

log = get_logger("pingvas.render.worker")

SEED_MODULUS = 2**32

_SECONDS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200)
#: outcome: completed, failed, cancelled (render was told, the message deleted)
JOB_SECONDS = Histogram(
    "pingvas_render_job_seconds",
    "A job on a worker: from render's start answer to the outcome reported",
    ["outcome"],
    buckets=_SECONDS,
)
ROW_SECONDS = Histogram(
    "pingvas_render_row_seconds",
    "One image's row in the engine: from submission to its last denoising step decoded",
    buckets=_SECONDS,
)


class Message(Protocol):
    body: dict[str, Any]
    receipt_handle: str
    receive_count: int


class _Cancelled(Exception):
    pass


class _EngineFailed(Exception):
    def __init__(self, reason: str, *, code: str = "internal", retryable: bool = True) -> None:
        super().__init__(reason)
        self.code = code
        self.retryable = retryable


@dataclass
class _Active:
    job_id: str
    message: Any
    rows: int = 1
    handles: list[str] = field(default_factory=list)
    cancel: bool = False
    #: render accepted its start: only then is it this worker's to report and to stop
    started: bool = False
    task: asyncio.Task | None = None


class Worker:
    def __init__(
        self,
        settings: WorkerSettings,
        *,
        engine: Any,
        queue: Any,
        api: RenderApi,
        store: ImageStore,
    ) -> None:
        self.settings = settings
        self.worker_id = settings.resolved_worker_id()
        self.engine = engine
        self.queue = queue
        self.api = api
        self.store = store
        self._active: dict[str, _Active] = {}
        self._slot_free = asyncio.Event()
        self._stopping = False
        self.jobs_done = 0

    # -- the loop --------------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        """Images this worker holds: the engine's rows plus `prefetch` waiting in it (they
        join the batch at the next step when a row finishes), or `prefetch` alone for an
        engine that does not say its rows (InvokeAI: one denoising, one queued)."""
        rows = int(getattr(self.engine, "capacity", 0) or 0)
        return max(1, rows + self.settings.prefetch if rows else self.settings.prefetch)

    @property
    def rows_in_hand(self) -> int:
        """Images received and not yet finished by the engine (an image being uploaded
        or reported no longer takes a row)."""
        return sum(job.rows for job in self._active.values())

    def _row_done(self, job: _Active) -> None:
        job.rows = max(0, job.rows - 1)
        self._slot_free.set()

    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker.started", worker_id=self.worker_id, capacity=self.capacity)
        heartbeat = asyncio.create_task(self._heartbeat(stop))
        try:
            while not stop.is_set():
                free = self.capacity - self.rows_in_hand
                if free <= 0:
                    self._slot_free.clear()
                    await _first(stop.wait(), self._slot_free.wait())
                    continue
                try:
                    messages = await self.queue.receive(
                        max_messages=min(10, free),
                        wait_s=2 if self._active else 5,
                        visibility_s=self.settings.visibility_timeout_s,
                    )
                except Exception as exc:  # noqa: BLE001 - the queue is down: wait, try again
                    log.warning("worker.receive_failed", error=f"{type(exc).__name__}: {exc}")
                    await _first(stop.wait(), asyncio.sleep(2))
                    continue
                for message in messages:
                    self._take(message)
            log.info("worker.stopping", jobs_in_hand=len(self._active))
            self._stopping = True  # heartbeats now offer no rows: the dispatcher sends none here
            await self._drain()
        finally:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)
            log.info("worker.stopped", worker_id=self.worker_id, jobs_done=self.jobs_done)

    def _take(self, message: Message) -> None:
        job_id = str(message.body.get("job_id", ""))
        if not job_id or job_id in self._active:
            return  # a duplicate delivery of a job in hand: its visibility is being extended
        rows = len(message.body.get("image_ids") or []) or 1
        active = _Active(job_id=job_id, message=message, rows=rows)
        self._active[job_id] = active
        active.task = asyncio.create_task(self._guarded(active))
        active.task.add_done_callback(lambda _t: self._release(job_id))

    def _release(self, job_id: str) -> None:
        self._active.pop(job_id, None)
        self._slot_free.set()

    async def _drain(self) -> None:
        tasks = [a.task for a in self._active.values() if a.task is not None]
        if not tasks:
            return
        log.info("worker.draining", jobs=len(tasks), timeout_s=self.settings.drain_timeout_s)
        _done, pending = await asyncio.wait(tasks, timeout=self.settings.drain_timeout_s)
        for task in pending:  # their messages reappear for another worker
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_interval_s)
            active = list(self._active.values())
            for job in active:
                try:
                    await self.queue.extend(
                        job.message.receipt_handle, self.settings.visibility_timeout_s
                    )
                except Exception as exc:  # noqa: BLE001 - the next beat tries again
                    log.warning("worker.extend_failed", job_id=job.job_id, error=str(exc))
            # also with nothing in hand: render counts this worker's free rows
            cancel = await self.api.heartbeat(
                worker_id=self.worker_id,
                # not a job whose start is still being retried (render down): render would
                # not know it as this worker's yet and answer "stop", cancelling it
                job_ids=[j.job_id for j in active if j.started],
                capacity=0 if self._stopping else self.capacity,
            )
            for job_id in cancel:
                held = self._active.get(job_id)
                if held is not None and not held.cancel:
                    await self._cancel(held)

    async def _cancel(self, job: _Active) -> None:
        job.cancel = True
        for handle in job.handles:
            try:
                await self.engine.cancel(handle)
            except Exception as exc:  # noqa: BLE001
                log.warning("worker.engine_cancel_failed", job_id=job.job_id, error=str(exc))

    # -- one job ---------------------------------------------------------------------------

    async def _guarded(self, job: _Active) -> None:
        try:
            await self._run_job(job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the message reappears: another try
            log.error("worker.job_crashed", job_id=job.job_id, error=f"{type(exc).__name__}: {exc}")

    async def _run_job(self, job: _Active) -> None:
        # the job's span: a child of the request that queued it (the work item's
        # traceparent); render's internal calls below and the engine's rows are its children
        with telemetry.span(
            "render.worker.job",
            parent=job.message.body.get("traceparent"),
            kind=SpanKind.CONSUMER,
            attributes={
                "pingvas.job_id": job.job_id,
                "pingvas.tenant_id": job.message.body.get("tenant_id"),
                "pingvas.worker_id": self.worker_id,
                "messaging.message.delivery_count": job.message.receive_count,
            },
        ):
            await self._run_job_in_span(job)

    async def _run_job_in_span(self, job: _Active) -> None:
        message = job.message
        try:
            answer = await self.api.start(
                job.job_id, worker_id=self.worker_id, receive_count=message.receive_count
            )
        except JobRefused as refused:
            reason = (refused.body or {}).get("reason")
            if reason == "running_elsewhere":
                # another worker held it moments ago: if that one is gone, render hands the
                # job over once its heartbeat is stale, so look again shortly
                log.info("worker.job_busy_elsewhere", job_id=job.job_id)
                await self.queue.extend(message.receipt_handle, self.settings.busy_retry_s)
                return
            log.info("worker.job_refused", job_id=job.job_id, reason=reason)
            await self.queue.delete(message.receipt_handle)
            return
        job.started = True
        attempt = int(answer.get("attempt", 1))
        item = answer.get("job") or message.body
        uploaded: list[str] = []
        began = time.monotonic()
        try:
            try:
                with telemetry.span(
                    "render.engine.batch",
                    attributes={
                        "pingvas.job_id": job.job_id,
                        "pingvas.attempt": attempt,
                        "pingvas.rows": len(item.get("image_ids") or []) or 1,
                        "pingvas.engine.capacity": self.capacity,
                    },
                ):
                    images = await self._render(job, item, attempt, uploaded)
            except EngineError as exc:  # the engine went away mid-job, or refused it
                raise _EngineFailed(
                    "The engine stopped while rendering.", retryable=exc.retryable
                ) from exc
            await self.api.complete(
                job.job_id,
                {
                    "worker_id": self.worker_id,
                    "attempt": attempt,
                    "duration_ms": int((time.monotonic() - began) * 1000),
                    "images": images,
                },
            )
            self.jobs_done += 1
            JOB_SECONDS.labels("completed").observe(time.monotonic() - began)
            log.info("worker.job_completed", job_id=job.job_id, images=len(images))
        except _Cancelled:
            await self.store.delete(uploaded)
            await self.api.cancelled(job.job_id, worker_id=self.worker_id, attempt=attempt)
            JOB_SECONDS.labels("cancelled").observe(time.monotonic() - began)
            log.info("worker.job_cancelled", job_id=job.job_id)
        except JobRefused:
            # cancelled while we finished it: nothing of it may stay behind
            await self.store.delete(uploaded)
            log.info("worker.completion_refused", job_id=job.job_id)
        except _EngineFailed as failed:
            answer = await self.api.fail(
                job.job_id,
                {
                    "worker_id": self.worker_id,
                    "attempt": attempt,
                    "error_code": failed.code,
                    "reason": str(failed)[:500] or "The engine failed.",
                    "retryable": failed.retryable,
                },
            )
            JOB_SECONDS.labels("failed").observe(time.monotonic() - began)
            log.warning("worker.job_failed", job_id=job.job_id, code=failed.code, answer=answer)
        except asyncio.CancelledError:
            # drain timed out: leave the message to reappear elsewhere
            for handle in job.handles:
                await _quietly(self.engine.cancel(handle))
            raise
        await self.queue.delete(message.receipt_handle)

    async def _render(
        self, job: _Active, item: dict[str, Any], attempt: int, uploaded: list[str]
    ) -> list[dict[str, Any]]:
        request = item["request"]
        tenant_id = item["tenant_id"]
        image_ids: list[str] = item["image_ids"]
        model = CatalogModel(**item["model"])
        n = len(image_ids)
        try:
            await self.engine.ensure_model(model)
        except EngineError as exc:
            raise _EngineFailed(
                f"The model {model.key} could not be loaded.",
                code="model_unavailable",
                retryable=exc.retryable,
            ) from exc
        if job.cancel:
            raise _Cancelled
        seeds = [(int(request["seed"]) + i) % SEED_MODULUS for i in range(n)]
        try:
            for seed in seeds:  # all at once: the engine's queue never runs dry between them
                job.handles.append(
                    await self.engine.submit(
                        EngineJob(
                            prompt=request["prompt"],
                            negative_prompt=request.get("negative_prompt", ""),
                            model=model,
                            width=int(request["width"]),
                            height=int(request["height"]),
                            steps=int(request["steps"]),
                            cfg_scale=float(request["cfg_scale"]),
                            scheduler=request["scheduler"],
                            seed=seed,
                        )
                    )
                )
        except EngineError as exc:
            raise _EngineFailed(
                "The engine did not take the job.", retryable=exc.retryable
            ) from exc
        if job.cancel:
            await self._cancel(job)

        return await self._follow(
            job, request, tenant_id, image_ids, model, seeds, attempt, uploaded
        )

    async def _follow(
        self,
        job: _Active,
        request: dict[str, Any],
        tenant_id: str,
        image_ids: list[str],
        model: CatalogModel,
        seeds: list[int],
        attempt: int,
        uploaded: list[str],
    ) -> list[dict[str, Any]]:
        """Every image's events at once (a batched engine renders them side by side):
        progress is their mean, each image is stored as soon as it is done, and the first
        failure or cancellation stops the rest."""
        n = len(job.handles)
        submitted = time.monotonic()  # every row was handed to the engine just now
        fractions = [0.0] * n
        results: list[dict[str, Any]] = []
        min_gap = 1.0 / self.settings.progress_rate
        last_sent = 0.0

        async def report(index: int, preview: str | None) -> None:
            nonlocal last_sent
            now = time.monotonic()
            if now - last_sent < min_gap:
                return
            last_sent = now
            if (
                await self.api.progress(
                    job.job_id,
                    attempt=attempt,
                    progress=sum(fractions) / n,
                    image_index=index,
                    preview=preview,
                )
                and not job.cancel
            ):
                await self._cancel(job)

        async def one(index: int, handle: str) -> None:
            try:
                # one row of the engine's batch: from submitted to denoised and decoded
                with telemetry.span(
                    "render.engine.row",
                    attributes={"pingvas.image_index": index, "pingvas.seed": seeds[index]},
                ):
                    async for event in self.engine.events(handle):
                        if event.kind == "progress":
                            fractions[index] = max(
                                fractions[index], min(1.0, max(0.0, event.progress))
                            )
                            await report(index, event.preview)
                        elif event.kind == "cancelled":
                            raise _Cancelled
                        elif event.kind == "failed":
                            raise _classify(event.error or "", _failure_code(self.engine, handle))
                        elif event.kind == "completed":
                            ROW_SECONDS.observe(time.monotonic() - submitted)
                            break
            finally:
                self._row_done(job)  # the engine is done with it: its row takes the next
            if job.cancel:
                raise _Cancelled
            fractions[index] = 1.0
            pngs = await self.engine.images(handle)
            if not pngs:
                raise _EngineFailed("The engine produced no image.")
            image_id = image_ids[index]
            params = {**request, "seed": seeds[index], "model": model.key, "image_id": image_id}
            # encoding and uploads run beside the engine: it goes on with the other rows
            stored = await asyncio.to_thread(
                prepare, pngs[0], params, thumbnail_size=self.settings.thumbnail_size
            )
            keys = (png_key(tenant_id, image_id), thumbnail_key(tenant_id, image_id))
            tags = {"tenant": tenant_id, "job": job.job_id}
            await self.store.put(keys[0], stored.png, "image/png", tags)
            uploaded.append(keys[0])
            await self.store.put(keys[1], stored.thumbnail, "image/webp", tags)
            uploaded.append(keys[1])
            results.append(
                {
                    "image_id": image_id,
                    "index": index,
                    "seed": seeds[index],
                    "png_key": keys[0],
                    "thumbnail_key": keys[1],
                    "size_bytes": len(stored.png),
                    "sha256": stored.sha256,
                }
            )

        tasks = [asyncio.create_task(one(i, h)) for i, h in enumerate(job.handles)]
        try:
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            failed = [t for t in done if t.exception() is not None]
            if failed:
                if not job.cancel:
                    await self._cancel(job)
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                # a cancellation wins over the failures it caused in the other rows
                errors = [t.exception() for t in failed]
                for error in errors:
                    if isinstance(error, _Cancelled):
                        raise error
                raise errors[0]  # type: ignore[misc]
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()
        results.sort(key=lambda r: r["index"])
        return results


def _failure_code(engine: Any, handle: str) -> str | None:
    getter = getattr(engine, "failure_code", None)
    try:
        return getter(handle) if getter is not None else None
    except Exception:  # noqa: BLE001 - the handle is gone: no code
        return None


def _classify(error: str, code: str | None = None) -> _EngineFailed:
    if code == "numerical":
        return _EngineFailed(
            "The image became numerically unstable while denoising; try another seed "
            "or a lower CFG scale.",
            code="internal",
            retryable=False,
        )
    lowered = error.lower()
    if "out of memory" in lowered:
        return _EngineFailed(
            "The GPU ran out of memory; try a smaller size or fewer steps.",
            code="out_of_memory",
            retryable=False,
        )
    return _EngineFailed("The engine failed while rendering.", code="internal", retryable=True)


async def _first(*aws: Any) -> None:
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _quietly(aw: Any) -> None:
    try:
        await aw
    except Exception:  # noqa: BLE001
        pass
