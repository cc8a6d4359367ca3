"""The shared part of `Jobs`: its state, the queue positions, and the transitions every
use case applies inside its transaction (each a compare-and-set on the job's status,
with its job event, outbox event and credit movement)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts.events.render import Callback, JobCancelled, JobFailed
from pingvas_kit.db import Database
from pingvas_kit.logging import get_logger
from pingvas_kit.service import ServiceRuntime

from ...adapters import repository as repo
from ...adapters.progress import ProgressHub
from ...catalog import Catalog
from ...domain.jobs import (
    CancelledBy,
    Stage,
    cancelled_by,
    failure,
)
from ...settings import Settings
from ..dispatcher import queue_positions

#: what a per-request webhook gets when the request names no filter
CALLBACK_EVENTS = ("completed", "progress", "started")


def callback_of(job: Any) -> Callback | None:
    """The job's per-request webhook, for its events."""
    stored = getattr(job, "callback", None)
    return Callback.model_validate(stored) if stored else None


log = get_logger("pingvas.render.jobs")


@dataclass
class _Notes:
    """Lifecycle events committed in a transaction, to tell the SSE streams afterwards."""

    events: list[tuple[str, int]] = field(default_factory=list)
    poke: bool = False


class JobsBase:
    """What every job use case shares: the runtime, the hub, the catalog, the dispatcher's
    poke, the queue positions, and the transitions inside a caller's transaction."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        settings: Settings,
        hub: ProgressHub,
        catalog: Catalog,
        *,
        poke: Callable[[], None] = lambda: None,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.hub = hub
        self.catalog = catalog
        self.poke = poke
        # tenant id -> (computed at, {job id: position}): every open event stream of a
        # tenant asks each poll; one computation a poll interval serves them all
        self._positions: dict[str, tuple[float, dict[str, int]]] = {}

    @property
    def db(self) -> Database:
        return self.runtime.db

    async def _after(self, notes: _Notes) -> None:
        for job_id, seq in notes.events:
            try:
                await self.hub.publish(job_id, {"kind": "lifecycle", "seq": seq})
            except Exception as exc:  # streams also poll the database
                log.warning("render.hub_publish_failed", error=type(exc).__name__)
        if notes.poke:
            self.poke()

    # -- queue position (the dispatcher's estimate of its fair order) -----------------------

    async def queue_positions(
        self, session: AsyncSession, rows: list[sa.Row], *, max_age: float = 0.0
    ) -> dict[str, int]:
        """Positions as of now; with `max_age`, a computation at most that old may do (the
        event streams' polls)."""
        out: dict[str, int] = {}
        now = time.monotonic()
        waiting = [r for r in rows if r.status in repo.WAITING]
        for tenant_id in {r.tenant_id for r in waiting}:
            cached = self._positions.get(tenant_id)
            if (
                cached is None
                or now - cached[0] >= max_age
                or any(r.id not in cached[1] for r in waiting if r.tenant_id == tenant_id)
            ):
                cached = (now, await queue_positions(session, tenant_id))
                self._positions[tenant_id] = cached
                if len(self._positions) > 10_000:  # forget the stalest
                    del self._positions[min(self._positions, key=lambda t: self._positions[t][0])]
            out.update(cached[1])
        return out

    async def queue_position(
        self, session: AsyncSession, row: sa.Row, *, max_age: float = 0.0
    ) -> int | None:
        return (await self.queue_positions(session, [row], max_age=max_age)).get(row.id)

    # -- transitions, inside a caller's transaction -----------------------------------------

    async def _end_in(
        self,
        session: AsyncSession,
        job: sa.Row,
        notes: _Notes,
        *,
        status: str,
        fields: dict[str, Any],
        stream: tuple[str, dict[str, Any]],
        event: Any,
    ) -> bool:
        """An unfinished job ends without a charge: the state, the whole reservation back,
        the stream's lifecycle event and the bus event, or False if it had already ended."""
        if not await repo.update_job(
            session, job.id, statuses=repo.UNFINISHED, status=status, **fields
        ):
            return False
        await repo.release_credits(session, tenant_id=job.tenant_id, credits=job.credits_reserved)
        seq = await repo.add_job_event(
            session, job_id=job.id, tenant_id=job.tenant_id, type_=stream[0], data=stream[1]
        )
        notes.events.append((job.id, seq))
        await self.runtime.outbox.add(session, event, tenant_id=job.tenant_id, subject=job.id)
        return True

    async def _cancel_in(
        self,
        session: AsyncSession,
        job: sa.Row,
        notes: _Notes,
        *,
        stage: Stage,
        by: CancelledBy,
        by_user_id: str | None = None,
    ) -> bool:
        at = repo.now()
        return await self._end_in(
            session,
            job,
            notes,
            status="cancelled",
            fields={"finished_at": at},
            stream=("cancelled", {"job_id": job.id, "stage": stage}),
            event=JobCancelled(
                job_id=job.id,
                user_id=job.user_id,
                api_key_id=job.api_key_id,
                cancelled_by=by,
                cancelled_by_user_id=by_user_id,
                stage=stage,
                credits_reserved=job.credits_reserved,
                credits_released=job.credits_reserved,
                cancelled_at=at,
                callback=callback_of(job),
            ),
        )

    async def _fail_in(
        self, session: AsyncSession, job: sa.Row, notes: _Notes, *, code: str, reason: str
    ) -> bool:
        at = repo.now()
        code, reason = failure(code, reason)
        return await self._end_in(
            session,
            job,
            notes,
            status="failed",
            fields={"error_code": code, "error_reason": reason, "finished_at": at},
            stream=("failed", {"job_id": job.id, "error_code": code, "reason": reason}),
            event=JobFailed(
                job_id=job.id,
                user_id=job.user_id,
                api_key_id=job.api_key_id,
                error_code=code,
                reason=reason,
                attempts=max(job.attempts, 1),
                credits_reserved=job.credits_reserved,
                credits_released=job.credits_reserved,
                failed_at=at,
                callback=callback_of(job),
            ),
        )

    async def _requeue_in(self, session: AsyncSession, job: sa.Row, notes: _Notes) -> bool:
        """Back to queued for another attempt (the dispatcher sends it again)."""
        if not await repo.update_job(
            session,
            job.id,
            statuses=("running", "dispatched"),
            status="queued",
            worker_id=None,
            dispatched_at=None,
            heartbeat_at=None,
        ):
            return False
        position = await self.queue_position(
            session, await _present(repo.get_job_for_worker(session, job.id))
        )
        seq = await repo.add_job_event(
            session,
            job_id=job.id,
            tenant_id=job.tenant_id,
            type_="queued",
            data={"job_id": job.id, "queue_position": position},
        )
        notes.events.append((job.id, seq))
        return True

    @staticmethod
    def _cancelled_by(job: sa.Row) -> CancelledBy:
        return cancelled_by(job.user_id, job.api_key_id)


async def _present(row: Awaitable[sa.Row | None]) -> sa.Row:
    """A row the transaction just wrote or locked: it is there."""
    found = await row
    if found is None:
        raise LookupError("a row read back inside its own transaction is missing")
    return found
