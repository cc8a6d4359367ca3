"""What a worker reports through the internal API (start, progress, heartbeat, complete,
fail, cancelled), and the sweeper that settles jobs whose worker went silent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts.events.render import ImageCreated, JobCompleted, JobProgressed, JobStarted
from pingvas_kit.logging import get_logger

from ...adapters import repository as repo
from ...adapters.s3 import tenant_prefix
from ...domain.jobs import (
    HEARTBEAT_EVERY,
    Refused,
    check_images,
    credits_used,
    fail_decision,
    lost_decision,
    should_stop,
    stage_of,
    start_decision,
)
from ..dispatcher import work_item
from ._base import JobsBase, _Notes, _present, callback_of

log = get_logger("pingvas.render.jobs")


class Driving(JobsBase):
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
                        callback=callback_of(job),
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
        await self._progress_callback(job, float(body["progress"]))
        beat = repo.aware(job.heartbeat_at)
        if beat is None or repo.now() - beat > HEARTBEAT_EVERY:
            async with self.db.transaction() as session:
                await repo.heartbeat(session, job_ids=[job_id], worker_id=job.worker_id)
        return bool(job.cancel_requested)

    async def _progress_callback(self, job: sa.Row, progress: float) -> None:
        """A job.progressed for a per-request webhook that asked for progress, at most one
        per `callback_progress_every_s` per job (across replicas: the claim is a
        conditional UPDATE of the job's `callback_progress_at`)."""
        callback = callback_of(job)
        if callback is None or "progress" not in callback.events:
            return
        at = repo.now()
        async with self.db.transaction() as session:
            if not await repo.claim_progress_callback(
                session,
                job.id,
                at=at,
                every=timedelta(seconds=self.settings.callback_progress_every_s),
            ):
                return
            await self.runtime.outbox.add(
                session,
                JobProgressed(
                    job_id=job.id, progress=min(max(progress, 0.0), 1.0), callback=callback, at=at
                ),
                tenant_id=job.tenant_id,
                subject=job.id,
            )

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
                callback=callback_of(job),
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
            if not job.cancel_requested:
                # a worker stopped it because render said so (it was handed to another
                # worker, or had not started on this one): not the person's cancellation;
                # the job goes on where it is, or comes back from the work queue
                log.info("render.cancel_report_ignored", job_id=job_id, status=job.status)
                return
            by = self._cancelled_by(job)
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
