"""Generations: queue one, list them, watch one (SSE), cancel one."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import StreamingResponse

from pingvas_kit.http import problem_responses

from ..adapters import repository as repo
from ..domain.errors import NotFound
from .deps import Context, Creator, Ctx, JobReader, JobWriter
from .schemas import GenerationIn, JobOut, JobPage
from .views import decode_cursor, encode_cursor, job_out

router = APIRouter(prefix="/api/v1/generations", tags=["generations"])

TERMINAL = ("completed", "failed", "cancelled")


async def _out(ctx: Context, row) -> JobOut:
    async with ctx.db.sessionmaker() as session:
        position = await ctx.jobs.queue_position(session, row)
    progress = await ctx.hub.last_progress(row.id) if row.status == "running" else None
    return job_out(row, queue_position=position, progress=progress)


@router.post(
    "",
    status_code=202,
    summary="Queue a generation",
    description=(
        "Queues a job for a prompt on a model; the answer (202) is the job, and its progress "
        "comes as server-sent events from `.../events`. Send `Idempotency-Key` to make retries "
        "safe: the same key with the same body answers the same job, with another body 409. 402 "
        "when the credits are spent, 429 when the plan's concurrent jobs are running."
    ),
    responses=problem_responses(402, 403, 409, 422, 429, 503),
)
async def create_generation(
    body: GenerationIn,
    me: Creator,
    ctx: Ctx,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> JobOut:
    job, created = await ctx.jobs.create(me, body.model_dump(mode="json"), idempotency_key or None)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/generations/{job.id}"
    return await _out(ctx, job)


@router.get(
    "",
    summary="List generations",
    description=(
        "The team's jobs, newest first, a page at a time (`cursor` from `next_cursor`, up to "
        "`limit`)."
    ),
    responses=problem_responses(403, 422),
)
async def list_generations(
    me: JobReader,
    ctx: Ctx,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> JobPage:
    after = decode_cursor(cursor)
    async with ctx.db.sessionmaker() as session:
        rows = list(
            await repo.list_jobs(session, tenant_id=me.tenant_id, after=after, limit=limit + 1)
        )
        more = len(rows) > limit
        rows = rows[:limit]
        positions = await ctx.jobs.queue_positions(session, rows)
    items = []
    for row in rows:
        progress = await ctx.hub.last_progress(row.id) if row.status == "running" else None
        items.append(job_out(row, queue_position=positions.get(row.id), progress=progress))
    return JobPage(items=items, next_cursor=encode_cursor(rows[-1]) if more else None)


async def _job(ctx: Context, tenant_id: str, job_id: str):
    async with ctx.db.sessionmaker() as session:
        row = await repo.get_job(session, tenant_id=tenant_id, job_id=job_id)
    if row is None:
        raise NotFound("No such generation.")
    return row


@router.get(
    "/{job_id}",
    summary="Get a generation",
    description="One job: its status, progress, parameters and, once completed, its images.",
    responses=problem_responses(403, 404),
)
async def get_generation(job_id: str, me: JobReader, ctx: Ctx) -> JobOut:
    return await _out(ctx, await _job(ctx, me.tenant_id, job_id))


@router.post(
    "/{job_id}/cancel",
    status_code=202,
    summary="Cancel a generation",
    description=(
        "Asks the job to stop: a queued job is cancelled at once, a running one at its next step;"
        " its credits are given back. 409 when it has already ended."
    ),
    responses=problem_responses(403, 404, 409),
)
async def cancel_generation(job_id: str, me: JobWriter, ctx: Ctx) -> JobOut:
    return await _out(ctx, await ctx.jobs.cancel(me, job_id))


def _last_seq(last_event_id: str | None) -> int:
    if not last_event_id:
        return 0
    try:
        return max(int(last_event_id.split(".", 1)[0]), 0)
    except ValueError:
        return 0


def _sse(event_id: str, event: str, data: dict[str, Any]) -> str:
    return f"id: {event_id}\nevent: {event}\ndata: {json.dumps(data, default=str)}\n\n"


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    summary="Follow a generation (SSE)",
    description=(
        "`text/event-stream` of the job's events: `status`, `progress` (step of steps), "
        "`completed` (with the images), `failed`, `cancelled`. Each event has an id: reconnect "
        "with `Last-Event-ID` to get what was missed. The stream ends when the job does."
    ),
    responses=problem_responses(403, 404, 429),
)
async def generation_events(
    job_id: str,
    me: JobReader,
    ctx: Ctx,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    await _job(ctx, me.tenant_id, job_id)  # 404 before the stream starts
    return StreamingResponse(
        _stream(ctx, me.tenant_id, job_id, _last_seq(last_event_id)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(ctx: Context, tenant_id: str, job_id: str, sent: int) -> AsyncIterator[str]:
    """Lifecycle events from job_events (replayed after Last-Event-ID), progress from the
    hub. A lifecycle message on the hub makes it read job_events again; so does a safety
    poll every `sse_keepalive_s` (a hub message lost with a Redis reconnect). While the job
    waits, every `sse_poll_s` it only refreshes the queue position (computed once per
    tenant for all its streams), so many waiting streams cost little."""
    settings = ctx.settings
    last_type: str | None = None
    position: int | None = None
    keepalive_at = time.monotonic() + settings.sse_keepalive_s
    job: Any = None
    read_all = True
    async with ctx.hub.subscribe(job_id) as queue:
        yield "retry: 2000\n\n"
        while True:
            events: list[Any] = []
            async with ctx.db.sessionmaker() as session:
                if read_all:
                    events = list(
                        await repo.job_events_after(
                            session, tenant_id=tenant_id, job_id=job_id, seq=sent
                        )
                    )
                    job = await repo.get_job(session, tenant_id=tenant_id, job_id=job_id)
                    if job is None:
                        return  # purged with its tenant
                    read_at = time.monotonic()
                now_position = (
                    await ctx.jobs.queue_position(session, job, max_age=settings.sse_poll_s)
                    if job.status in repo.WAITING
                    else None
                )
            for event in events:
                yield _sse(str(event.seq), event.type, event.data)
                sent, last_type = event.seq, event.type
                if event.type == "queued":
                    position = event.data.get("queue_position")
                if event.type in TERMINAL:
                    return
            if read_all and not events and job.status in TERMINAL and sent >= job.event_seq:
                return  # reconnected after the end
            if last_type in (None, "queued") and job.status in repo.WAITING:
                if (
                    now_position is not None
                    and now_position != position
                    and sent == job.event_seq
                    and sent > 0
                ):
                    position = now_position
                    yield _sse(str(sent), "queued", {"job_id": job_id, "queue_position": position})
            # wait for the hub, the next position tick (a waiting job), the safety poll or
            # the keep-alive
            waiting = job.status in repo.WAITING
            every = settings.sse_poll_s if waiting else settings.sse_keepalive_s
            deadline = time.monotonic() + max(settings.sse_poll_s, every)
            read_all = False
            while True:
                timeout = min(deadline, keepalive_at) - time.monotonic()
                try:
                    message = await asyncio.wait_for(queue.get(), timeout=max(timeout, 0))
                except TimeoutError:
                    message = None
                if message is None:
                    if time.monotonic() >= keepalive_at:
                        yield ": keep-alive\n\n"
                        keepalive_at = time.monotonic() + settings.sse_keepalive_s
                    if time.monotonic() >= deadline:
                        read_all = time.monotonic() - read_at >= settings.sse_keepalive_s
                        break
                    continue
                if message.get("kind") == "progress":
                    if message.get("seq") == sent:
                        yield _sse(f"{sent}.{message['n']}", "progress", message["data"])
                        keepalive_at = time.monotonic() + settings.sse_keepalive_s
                    elif message.get("seq", 0) > sent:
                        read_all = True
                        break  # a lifecycle event we have not read yet
                    continue
                read_all = True
                break  # a lifecycle event: read job_events
