"""The internal API the GPU workers call (docs/render.md, "Internal API"). Not routed by
the gateway; every call carries the worker token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from .deps import Ctx, Worker
from .schemas import CancelledIn, CompleteIn, FailIn, HeartbeatIn, ProgressIn, StartIn

router = APIRouter(prefix="/internal/v1", tags=["internal"], dependencies=[Worker])


@router.post("/jobs/{job_id}/start")
async def start(job_id: str, body: StartIn, ctx: Ctx) -> dict[str, Any]:
    return await ctx.jobs.start(job_id, worker_id=body.worker_id)


@router.post("/jobs/{job_id}/progress")
async def progress(job_id: str, body: ProgressIn, ctx: Ctx) -> dict[str, bool]:
    return {"cancel": await ctx.jobs.progress(job_id, body.model_dump())}


@router.post("/heartbeat")
async def heartbeat(body: HeartbeatIn, ctx: Ctx) -> dict[str, list[str]]:
    return {
        "cancel": await ctx.jobs.heartbeat(
            worker_id=body.worker_id, job_ids=body.job_ids, capacity=body.capacity
        )
    }


@router.post("/jobs/{job_id}/complete")
async def complete(job_id: str, body: CompleteIn, ctx: Ctx) -> dict[str, bool]:
    await ctx.jobs.complete(job_id, body.model_dump())
    return {"ok": True}


@router.post("/jobs/{job_id}/fail")
async def fail(job_id: str, body: FailIn, ctx: Ctx) -> dict[str, bool]:
    return {"requeued": await ctx.jobs.fail(job_id, body.model_dump())}


@router.post("/jobs/{job_id}/cancelled")
async def cancelled(job_id: str, body: CancelledIn, ctx: Ctx) -> dict[str, bool]:
    await ctx.jobs.cancelled(job_id)
    return {"ok": True}
