"""What a caller asks of jobs: accept a generation, cancel one, cancel a deleted tenant's."""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts.events.render import JobQueued
from pingvas_kit import telemetry
from pingvas_kit.egress import UnsafeUrl, resolve_target
from pingvas_kit.logging import get_logger

from ...adapters import repository as repo
from ...domain.errors import (
    Conflict,
    IdempotencyConflict,
    InvalidField,
    NotFound,
    NotReady,
    OutOfCredits,
    TooManyJobs,
)
from ...domain.jobs import (
    RETRY_AFTER_S,
    SEED_MODULUS,
    Who,
    request_hash,
    stage_of,
    unfinished_limit,
)
from ...domain.pricing import limits_of, price, resolve_request
from ._base import CALLBACK_EVENTS, JobsBase, _Notes, _present

log = get_logger("pingvas.render.jobs")


class Accepting(JobsBase):
    # -- the public side ---------------------------------------------------------------------

    async def _callback(self, url: str | None, events: list[str] | None) -> dict[str, Any] | None:
        """The job's per-request webhook as stored, or Invalid (problem+json) for a URL no
        webhook may go to."""
        if url is None:
            if events is not None:
                raise InvalidField(
                    "webhook_events_filter needs a webhook.",
                    code="webhook_missing",
                    field="webhook",
                )
            return None
        try:
            await resolve_target(
                url,
                allow_private=self.settings.webhook_allow_private,
                require_https=self.settings.is_production,
            )
        except UnsafeUrl as exc:
            raise InvalidField(exc.message, code=exc.code, field="webhook") from None
        return {"url": url, "events": sorted(set(events or CALLBACK_EVENTS))}

    async def create(
        self, who: Who, body: dict[str, Any], idempotency_key: str | None
    ) -> tuple[sa.Row, bool]:
        """Accept a generation: (job, True), or (the first job, False) for a repeated
        Idempotency-Key with the same body."""
        body = dict(body)
        url, events = body.pop("webhook", None), body.pop("webhook_events_filter", None)
        # the webhook is part of what a repeated Idempotency-Key must repeat
        digest = request_hash(body if url is None else {**body, "webhook": [url, events]})
        callback = await self._callback(url, events)
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
                    # what is left now, in this transaction: the balance less what the
                    # team's unfinished jobs hold (`ent` was read before they reserved)
                    now = await repo.get_entitlements(session, tenant_id=who.tenant_id)
                    left = max(now.credits_available - now.credits_reserved, 0) if now else 0
                    raise OutOfCredits(
                        f"This generation costs {credits} credits and your team has "
                        f"{left} available.",
                        credits_needed=credits,
                        credits_available=left,
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
                        "callback": callback,
                        "traceparent": telemetry.current_traceparent(),
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
                raise Conflict(
                    f"This generation has already {job.status}.",
                    code="generation-finished",
                    job_status=job.status,
                )
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
