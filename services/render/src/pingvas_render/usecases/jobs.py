"""Jobs: acceptance (entitlements, price, reservation), the state machine the workers drive
through the internal API, cancellation, and the sweeper for lost workers.

Every transition is a compare-and-set on the job's status inside one transaction with its
job event, its outbox event and its credit movement, so it happens exactly once however
often (or however concurrently) it is asked for. The rules each transition applies are in
`domain/jobs.py`. SSE streams are told after the commit."""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts.events.render import (
    ImageCreated,
    JobCancelled,
    JobCompleted,
    JobFailed,
    JobQueued,
    JobStarted,
)
from pingvas_kit.db import Database
from pingvas_kit.logging import get_logger
from pingvas_kit.service import ServiceRuntime

from ..adapters import repository as repo
from ..adapters.progress import ProgressHub
from ..adapters.s3 import tenant_prefix
from ..catalog import Catalog
from ..domain.errors import (
    Conflict,
    IdempotencyConflict,
    NotFound,
    NotReady,
    OutOfCredits,
    TooManyJobs,
)
from ..domain.jobs import (
    HEARTBEAT_EVERY,
    RETRY_AFTER_S,
    SEED_MODULUS,
    CancelledBy,
    Refused,
    Stage,
    Who,
    cancelled_by,
    check_images,
    credits_used,
    fail_decision,
    failure,
    lost_decision,
    request_hash,
    should_stop,
    stage_of,
    start_decision,
    unfinished_limit,
)
from ..domain.pricing import limits_of, price, resolve_request
from ..settings import Settings
from .dispatcher import queue_positions, work_item

log = get_logger("pingvas.render.jobs")


@dataclass
class _Notes:
    """Lifecycle events committed in a transaction, to tell the SSE streams afterwards."""

    events: list[tuple[str, int]] = field(default_factory=list)
    poke: bool = False


class Jobs:
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

    # -- the public side ---------------------------------------------------------------------

    async def create(
        self, who: Who, body: dict[str, Any], idempotency_key: str | None
    ) -> tuple[sa.Row, bool]:
        """Accept a generation: (job, True), or (the first job, False) for a repeated
        Idempotency-Key with the same body."""
        digest = request_hash(body)
        if idempotency_key:
            async with self.db.sessionmaker() as session:
                first = await repo.job_by_idempotency_key(
                    session, tenant_id=who.tenant_id, key=idempotency_key
                )
            if first is not None:
                return self._same_request(first, digest), False
        async with self.db.sessionmaker() as session:
            ent = await repo.get_entitlements(session, tenant_id=who.tenant_id)
        if ent is None:
            raise NotReady(
                "Your team is still being set up; try again in a moment.",
                headers={"Retry-After": "2"},
            )
        request, model = resolve_request(
            body, self.catalog, limits_of(ent), test_models=self.settings.test_models
        )
        credits = price(
            model, request["width"], request["height"], request["steps"], request["num_images"]
        )
        if request["seed"] is None:
            request["seed"] = secrets.randbelow(SEED_MODULUS)
        job_id = repo.new_id()
        at = repo.now()
        notes = _Notes(poke=True)
        try:
            async with self.db.transaction() as session:
                if not await repo.reserve_credits(
                    session, tenant_id=who.tenant_id, credits=credits
                ):
                    raise OutOfCredits(
                        f"This generation costs {credits} credits and your team has "
                        f"{max(ent.credits_available - ent.credits_reserved, 0)} left.",
                        credits_needed=credits,
                    )
                # counted after the reservation took the tenant's row lock, so the limit
                # holds exactly under concurrent requests too
                limit = unfinished_limit(ent.max_concurrent_jobs)
                if await repo.count_unfinished(session, tenant_id=who.tenant_id) >= limit:
                    raise TooManyJobs(
                        f"Your team already has {limit} generations waiting or running.",
                        headers={"Retry-After": str(RETRY_AFTER_S)},
                    )
                await repo.insert_job(
                    session,
                    {
                        "id": job_id,
                        "tenant_id": who.tenant_id,
                        "user_id": who.user_id,
                        "api_key_id": who.api_key_id,
                        "idempotency_key": idempotency_key,
                        "request_hash": digest,
                        "request": request,
                        "model": model.key,
                        "seed": request["seed"],
                        "num_images": request["num_images"],
                        "image_ids": [repo.new_id() for _ in range(request["num_images"])],
                        "credits_reserved": credits,
                        "status": "queued",
                        "cancel_requested": False,
                        "attempts": 0,
                        "event_seq": 0,
                        "created_at": at,
                    },
                )
                job = await _present(repo.get_job(session, tenant_id=who.tenant_id, job_id=job_id))
                position = await self.queue_position(session, job)
                seq = await repo.add_job_event(
                    session,
                    job_id=job_id,
                    tenant_id=who.tenant_id,
                    type_="queued",
                    data={"job_id": job_id, "queue_position": position},
                )
                notes.events.append((job_id, seq))
                await self.runtime.outbox.add(
                    session,
                    JobQueued(
                        job_id=job_id,
                        user_id=who.user_id,
                        api_key_id=who.api_key_id,
                        request=request,
                        credits_reserved=credits,
                        queued_at=at,
                    ),
                    tenant_id=who.tenant_id,
                    subject=job_id,
                )
                job = await _present(repo.get_job(session, tenant_id=who.tenant_id, job_id=job_id))
        except IntegrityError:
            if not idempotency_key:
                raise
            # the same key raced in from another request: answer with that job
            async with self.db.sessionmaker() as session:
                first = await repo.job_by_idempotency_key(
                    session, tenant_id=who.tenant_id, key=idempotency_key
                )
            if first is None:
                raise
            return self._same_request(first, digest), False
        await self._after(notes)
        log.info("render.job_queued", job_id=job_id, credits=credits, model=model.key)
        return job, True

    @staticmethod
    def _same_request(first: sa.Row, digest: str) -> sa.Row:
        if first.request_hash != digest:
            raise IdempotencyConflict(
                "This Idempotency-Key was already used with a different request."
            )
        return first

    async def cancel(self, who: Who, job_id: str) -> sa.Row:
        notes = _Notes()
        async with self.db.transaction() as session:
            job = await repo.get_job(session, tenant_id=who.tenant_id, job_id=job_id)
            if job is None:
                raise NotFound("No such generation.")
            if job.status in ("completed", "failed"):
                raise Conflict(f"This generation has already {job.status}.")
            if job.status in repo.WAITING:
                await self._cancel_in(
                    session, job, notes, stage="queued", by=who.kind, by_user_id=who.user_id
                )
                notes.poke = True
            elif job.status == "running" and not job.cancel_requested:
                # the worker stops the engine and confirms through `cancelled`
                await repo.update_job(session, job.id, statuses=("running",), cancel_requested=True)
            job = await _present(repo.get_job(session, tenant_id=who.tenant_id, job_id=job_id))
        await self._after(notes)
        return job

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

    async def cancel_for_tenant_deletion(self, session: AsyncSession, tenant_id: str) -> list[str]:
        """Cancel every unfinished job of a deleted tenant (by the system, releasing their
        reservations) inside the caller's transaction; the ids cancelled. The streams are
        not told: the tenant and its streams are going away."""
        notes = _Notes()
        for job in await repo.unfinished_jobs(session, tenant_id=tenant_id):
            await self._cancel_in(session, job, notes, stage=stage_of(job.status), by="system")
        return [job_id for job_id, _seq in notes.events]

    async def forget(self, job_ids: list[str]) -> None:
        """Drop what the progress hub remembers of these jobs."""
        for job_id in job_ids:
            await self.hub.forget(job_id)

    # -- the internal API (workers) ------------------------------------------------------------

    async def start(self, job_id: str, *, worker_id: str) -> dict[str, Any]:
        """A worker took the job's message. A dispatched job starts; a running one whose
        worker went silent (its message came back) or whose worker asks again starts a
        new attempt; a running one with a live worker elsewhere is a duplicate message.
        Past max_attempts the job fails with worker_lost."""
        notes = _Notes(poke=True)
        refused: str | None = None
        async with self.db.transaction() as session:
            job = await repo.get_job_for_worker(session, job_id, lock=True)
            if job is None:
                raise Refused("not_found")
            if job.status in repo.FINISHED:
                raise Refused("cancelled" if job.status == "cancelled" else "finished")
            decision = start_decision(
                status=job.status,
                cancel_requested=job.cancel_requested,
                job_worker_id=job.worker_id,
                worker_id=worker_id,
                heartbeat_at=repo.aware(job.heartbeat_at),
                now=repo.now(),
                takeover=timedelta(seconds=self.settings.lease_timeout_s / 4),
                attempts=job.attempts,
                max_attempts=self.settings.max_attempts,
            )
            if decision == "cancel":
                await self._cancel_in(
                    session, job, notes, stage="running", by=self._cancelled_by(job)
                )
                refused = "cancelled"
            elif decision in ("not_dispatched", "running_elsewhere"):
                raise Refused(decision)
            elif decision == "out_of_attempts":
                await self._fail_in(
                    session,
                    job,
                    notes,
                    code="worker_lost",
                    reason=f"The generation was interrupted {job.attempts} times; "
                    "its credits were released.",
                )
                refused = "out_of_attempts"
            else:
                at = repo.now()
                attempt = job.attempts + 1
                await repo.update_job(
                    session,
                    job.id,
                    statuses=repo.UNFINISHED,
                    status="running",
                    attempts=attempt,
                    worker_id=worker_id,
                    started_at=at,
                    heartbeat_at=at,
                )
                seq = await repo.add_job_event(
                    session,
                    job_id=job.id,
                    tenant_id=job.tenant_id,
                    type_="started",
                    data={"job_id": job.id, "attempt": attempt, "started_at": at.isoformat()},
                )
                notes.events.append((job.id, seq))
                created = repo.aware(job.created_at) or at
                await self.runtime.outbox.add(
                    session,
                    JobStarted(
                        job_id=job.id,
                        worker_id=worker_id,
                        attempt=attempt,
                        queue_wait_ms=max(int((at - created).total_seconds() * 1000), 0),
                        started_at=at,
                    ),
                    tenant_id=job.tenant_id,
                    subject=job.id,
                )
                job = await _present(repo.get_job_for_worker(session, job_id))
        await self._after(notes)
        if refused:
            raise Refused(refused)
        return {
            "proceed": True,
            "attempt": job.attempts,
            "job": work_item(job, self.catalog),
        }

    async def progress(self, job_id: str, body: dict[str, Any]) -> bool:
        """Hand a progress update to the hub; True when the worker should stop."""
        async with self.db.sessionmaker() as session:
            job = await repo.get_job_for_worker(session, job_id)
        if job is None:
            return True
        if job.status != "running" or job.attempts != body["attempt"]:
            return job.status in repo.FINISHED or job.cancel_requested or job.status == "running"
        n = await self.hub.next_n(job_id)
        await self.hub.publish(
            job_id,
            {
                "kind": "progress",
                "seq": job.event_seq,
                "n": n,
                "data": {
                    "job_id": job_id,
                    "progress": body["progress"],
                    "image_index": body["image_index"],
                    "preview": body.get("preview"),
                },
            },
        )
        beat = repo.aware(job.heartbeat_at)
        if beat is None or repo.now() - beat > HEARTBEAT_EVERY:
            async with self.db.transaction() as session:
                await repo.heartbeat(session, job_ids=[job_id], worker_id=job.worker_id)
        return bool(job.cancel_requested)

    async def heartbeat(
        self, *, worker_id: str, job_ids: list[str], capacity: int = 0
    ) -> list[str]:
        """Record the worker as live with `capacity` image rows (the dispatcher fills its
        free rows) and extend the lease of its jobs; the ids it should stop. An idle
        worker (no job ids) costs one upsert."""
        async with self.db.transaction() as session:
            await repo.record_worker(session, worker_id=worker_id, capacity=capacity)
            if not job_ids:
                return []
            await repo.heartbeat(session, job_ids=job_ids, worker_id=worker_id)
            rows = {r.id: r for r in await repo.jobs_for_worker(session, job_ids)}
        stop = []
        for job_id in job_ids:
            r = rows.get(job_id)
            if should_stop(
                status=r.status if r else None,
                cancel_requested=bool(r and r.cancel_requested),
                job_worker_id=r.worker_id if r else None,
                worker_id=worker_id,
            ):
                stop.append(job_id)
        return stop

    async def complete(self, job_id: str, body: dict[str, Any]) -> None:
        notes = _Notes(poke=True)
        refused: str | None = None
        async with self.db.transaction() as session:
            job = await repo.get_job_for_worker(session, job_id, lock=True)
            if job is None:
                raise Refused("not_found")
            if job.status == "completed":
                return  # already accepted: the same outcome reported again
            if job.status in repo.FINISHED:
                raise Refused(job.status)
            if job.cancel_requested:
                # the person asked to stop it: they are not charged, the worker deletes
                await self._cancel_in(
                    session, job, notes, stage="running", by=self._cancelled_by(job)
                )
                refused = "cancelled"
            else:
                await self._complete_in(session, job, body, notes)
        await self._after(notes)
        if refused:
            raise Refused(refused)
        await self.hub.forget(job_id)

    async def _complete_in(
        self, session: AsyncSession, job: sa.Row, body: dict[str, Any], notes: _Notes
    ) -> None:
        images = sorted(body["images"], key=lambda i: i["index"])
        check_images(tenant_prefix(job.tenant_id), list(job.image_ids), images)
        at = repo.now()
        used = credits_used(
            reserved=job.credits_reserved, num_images=job.num_images, images_done=len(images)
        )
        image_ids = [i["image_id"] for i in images]
        if not await repo.update_job(
            session,
            job.id,
            statuses=repo.UNFINISHED,
            status="completed",
            credits_used=used,
            image_ids=image_ids,
            finished_at=at,
        ):
            return
        request = job.request
        rows = [
            {
                "id": image["image_id"],
                "tenant_id": job.tenant_id,
                "job_id": job.id,
                "index": image["index"],
                "user_id": job.user_id,
                "api_key_id": job.api_key_id,
                "prompt": request["prompt"],
                "negative_prompt": request.get("negative_prompt") or "",
                "model": job.model,
                "width": request["width"],
                "height": request["height"],
                "seed": image["seed"],
                "steps": request["steps"],
                "cfg_scale": request["cfg_scale"],
                "scheduler": request["scheduler"],
                "png_key": image["png_key"],
                "thumbnail_key": image["thumbnail_key"],
                "size_bytes": image["size_bytes"],
                "sha256": image["sha256"],
                "created_at": at,
            }
            for image in images
        ]
        await repo.insert_images(session, rows)
        await repo.settle_credits(
            session, tenant_id=job.tenant_id, reserved=job.credits_reserved, used=used
        )
        seq = await repo.add_job_event(
            session,
            job_id=job.id,
            tenant_id=job.tenant_id,
            type_="completed",
            data={"job_id": job.id, "image_ids": image_ids, "credits_used": used},
        )
        notes.events.append((job.id, seq))
        for row in rows:
            await self.runtime.outbox.add(
                session,
                ImageCreated(
                    image_id=row["id"],
                    **{
                        k: row[k] for k in ImageCreated.model_fields if k in row and k != "image_id"
                    },
                ),
                tenant_id=job.tenant_id,
                subject=row["id"],
            )
        await self.runtime.outbox.add(
            session,
            JobCompleted(
                job_id=job.id,
                user_id=job.user_id,
                api_key_id=job.api_key_id,
                image_ids=image_ids,
                credits_reserved=job.credits_reserved,
                credits_used=used,
                duration_ms=body.get("duration_ms"),
                completed_at=at,
            ),
            tenant_id=job.tenant_id,
            subject=job.id,
        )
        log.info("render.job_completed", job_id=job.id, images=len(rows), credits_used=used)

    async def fail(self, job_id: str, body: dict[str, Any]) -> bool:
        """The worker could not finish: requeue (True) while attempts remain and the
        failure is retryable, else fail the job for good and release its credits."""
        notes = _Notes(poke=True)
        requeued = False
        async with self.db.transaction() as session:
            job = await repo.get_job_for_worker(session, job_id, lock=True)
            if job is None or job.status in repo.FINISHED or job.attempts != body["attempt"]:
                return False  # unknown, already settled, or a stale attempt's report
            decision = fail_decision(
                cancel_requested=job.cancel_requested,
                retryable=body["retryable"],
                attempts=job.attempts,
                max_attempts=self.settings.max_attempts,
            )
            if decision == "cancel":
                await self._cancel_in(
                    session, job, notes, stage="running", by=self._cancelled_by(job)
                )
            elif decision == "requeue":
                requeued = await self._requeue_in(session, job, notes)
            else:
                await self._fail_in(
                    session, job, notes, code=body["error_code"], reason=body["reason"]
                )
        await self._after(notes)
        if not requeued:
            await self.hub.forget(job_id)
        return requeued

    async def cancelled(self, job_id: str) -> None:
        """The worker stopped the engine for a cancelled job."""
        notes = _Notes(poke=True)
        async with self.db.transaction() as session:
            job = await repo.get_job_for_worker(session, job_id, lock=True)
            if job is None or job.status in repo.FINISHED:
                return
            by = self._cancelled_by(job) if job.cancel_requested else "system"
            await self._cancel_in(session, job, notes, stage=stage_of(job.status), by=by)
        await self._after(notes)
        await self.hub.forget(job_id)

    async def sweep(self) -> int:
        """Settle running jobs whose worker went silent: cancel those whose cancellation
        was asked for, fail those out of attempts (a redelivery would be refused anyway).
        The others wait for their work-queue message to come back to a worker."""
        cutoff = repo.now() - timedelta(seconds=self.settings.lease_timeout_s)
        forgotten = repo.now() - timedelta(seconds=self.settings.lease_timeout_s * 3)
        async with self.db.sessionmaker() as session:
            lost = await repo.lost_jobs(session, older_than=cutoff)
        settled = 0
        for (job_id,) in lost:
            notes = _Notes(poke=True)
            async with self.db.transaction() as session:
                job = await repo.get_job_for_worker(session, job_id, lock=True)
                beat = repo.aware(job.heartbeat_at) if job else None
                if job is None or job.status != "running" or (beat is not None and beat >= cutoff):
                    continue
                decision = lost_decision(
                    cancel_requested=job.cancel_requested,
                    attempts=job.attempts,
                    max_attempts=self.settings.max_attempts,
                    heartbeat_at=beat,
                    forgotten=forgotten,
                )
                if decision == "cancel":
                    done = await self._cancel_in(
                        session, job, notes, stage="running", by=self._cancelled_by(job)
                    )
                elif decision == "fail":
                    done = await self._fail_in(
                        session,
                        job,
                        notes,
                        code="worker_lost",
                        reason="The GPU worker running this generation stopped responding; "
                        "its credits were released.",
                    )
                elif decision == "requeue":
                    done = await self._requeue_in(session, job, notes)
                else:
                    done = False
                attempts = job.attempts
            if done:
                settled += 1
                log.warning("render.job_lost", job_id=job_id, attempts=attempts)
            await self._after(notes)
        return settled


async def _present(row: Awaitable[sa.Row | None]) -> sa.Row:
    """A row the transaction just wrote or locked: it is there."""
    found = await row
    if found is None:
        raise LookupError("a row read back inside its own transaction is missing")
    return found
