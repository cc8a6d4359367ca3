"""Queries over the render schema. Every function that reads or writes a tenant's
resources on behalf of a caller takes `tenant_id` as a keyword, from the verified
identity; the worker-facing ones (`*_for_worker`) address a job by id alone."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_kit.db import aware, new_id, now  # noqa: F401 - the callers use repo.now() and co.

from .db import entitlements, images, job_events, jobs, scheduler, team_settings, workers

UNFINISHED = ("queued", "dispatched", "running")
WAITING = ("queued", "dispatched")
FINISHED = ("completed", "failed", "cancelled")


def _is_postgres(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


def _changed(result: sa.Result[Any]) -> int:
    """The rows an UPDATE or DELETE touched (execute() is typed as returning a plain Result)."""
    return cast(sa.CursorResult[Any], result).rowcount


# -- entitlements ----------------------------------------------------------------------------


async def get_entitlements(session: AsyncSession, *, tenant_id: str) -> sa.Row | None:
    return (
        await session.execute(sa.select(entitlements).where(entitlements.c.tenant_id == tenant_id))
    ).first()


async def lock_entitlements(session: AsyncSession, *, tenant_id: str) -> sa.Row | None:
    """The tenant's entitlements row, locked for the transaction on Postgres (an event
    handler reads, decides and writes it)."""
    query = sa.select(entitlements).where(entitlements.c.tenant_id == tenant_id)
    if _is_postgres(session):
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def insert_entitlements(session: AsyncSession, *, tenant_id: str, **values: Any) -> None:
    await session.execute(
        entitlements.insert().values(tenant_id=tenant_id, updated_at=now(), **values)
    )


async def update_entitlements(session: AsyncSession, *, tenant_id: str, **values: Any) -> None:
    await session.execute(
        entitlements.update()
        .where(entitlements.c.tenant_id == tenant_id)
        .values(updated_at=now(), **values)
    )


async def add_credits(
    session: AsyncSession, *, tenant_id: str, available: int, seed: int = 0
) -> None:
    """Move the balance by `available` (and the seed credits by `seed`) in the database,
    not from a value read earlier."""
    e = entitlements.c
    values: dict[str, Any] = {"credits_available": e.credits_available + available}
    if seed:
        values["seed_credits"] = e.seed_credits + seed
    await update_entitlements(session, tenant_id=tenant_id, **values)


async def reserve_credits(session: AsyncSession, *, tenant_id: str, credits: int) -> bool:
    """Hold `credits` if the balance covers them: one conditional UPDATE, so concurrent
    reservations can never overspend (the row lock serialises them on Postgres)."""
    e = entitlements.c
    result = await session.execute(
        entitlements.update()
        .where(e.tenant_id == tenant_id, e.credits_available - e.credits_reserved >= credits)
        .values(credits_reserved=e.credits_reserved + credits)
    )
    return _changed(result) == 1


async def release_credits(session: AsyncSession, *, tenant_id: str, credits: int) -> None:
    e = entitlements.c
    await session.execute(
        entitlements.update()
        .where(e.tenant_id == tenant_id)
        .values(
            credits_reserved=sa.case(
                (e.credits_reserved >= credits, e.credits_reserved - credits), else_=0
            )
        )
    )


async def settle_credits(
    session: AsyncSession, *, tenant_id: str, reserved: int, used: int
) -> None:
    """Take `used` off the balance and drop the job's whole reservation."""
    e = entitlements.c
    await session.execute(
        entitlements.update()
        .where(e.tenant_id == tenant_id)
        .values(
            credits_available=e.credits_available - used,
            credits_reserved=sa.case(
                (e.credits_reserved >= reserved, e.credits_reserved - reserved), else_=0
            ),
        )
    )


# -- jobs ----------------------------------------------------------------------------------


async def count_unfinished(session: AsyncSession, *, tenant_id: str) -> int:
    counted = await session.scalar(
        sa.select(sa.func.count())
        .select_from(jobs)
        .where(jobs.c.tenant_id == tenant_id, jobs.c.status.in_(UNFINISHED))
    )
    return counted or 0


async def job_by_idempotency_key(
    session: AsyncSession, *, tenant_id: str, key: str
) -> sa.Row | None:
    return (
        await session.execute(
            sa.select(jobs).where(jobs.c.tenant_id == tenant_id, jobs.c.idempotency_key == key)
        )
    ).first()


async def insert_job(session: AsyncSession, row: dict[str, Any]) -> None:
    await session.execute(jobs.insert().values(**row))


async def get_job(session: AsyncSession, *, tenant_id: str, job_id: str) -> sa.Row | None:
    return (
        await session.execute(
            sa.select(jobs).where(jobs.c.id == job_id, jobs.c.tenant_id == tenant_id)
        )
    ).first()


async def get_job_for_worker(
    session: AsyncSession, job_id: str, *, lock: bool = False
) -> sa.Row | None:
    query = sa.select(jobs).where(jobs.c.id == job_id)
    if lock and _is_postgres(session):
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def list_jobs(
    session: AsyncSession, *, tenant_id: str, after: tuple[datetime, str] | None, limit: int
) -> Sequence[sa.Row]:
    query = sa.select(jobs).where(jobs.c.tenant_id == tenant_id)
    if after is not None:
        at, last_id = after
        query = query.where(
            sa.or_(jobs.c.created_at < at, sa.and_(jobs.c.created_at == at, jobs.c.id < last_id))
        )
    query = query.order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit)
    return (await session.execute(query)).all()


async def update_job(
    session: AsyncSession, job_id: str, *, statuses: Iterable[str] | None = None, **values: Any
) -> bool:
    """Set `values` on the job if its status is one of `statuses`: the compare-and-set
    every transition goes through, so each happens exactly once."""
    query = jobs.update().where(jobs.c.id == job_id)
    if statuses is not None:
        query = query.where(jobs.c.status.in_(tuple(statuses)))
    result = await session.execute(query.values(**values))
    return _changed(result) == 1


async def add_job_event(
    session: AsyncSession, *, job_id: str, tenant_id: str, type_: str, data: dict[str, Any]
) -> int:
    """Append a lifecycle event to the job's stream; returns its seq."""
    seq = await session.scalar(
        jobs.update()
        .where(jobs.c.id == job_id)
        .values(event_seq=jobs.c.event_seq + 1)
        .returning(jobs.c.event_seq)
    )
    await session.execute(
        job_events.insert().values(
            job_id=job_id, seq=seq, tenant_id=tenant_id, type=type_, data=data, created_at=now()
        )
    )
    return int(seq)


async def job_events_after(
    session: AsyncSession, *, tenant_id: str, job_id: str, seq: int
) -> Sequence[sa.Row]:
    return (
        await session.execute(
            sa.select(job_events)
            .where(
                job_events.c.job_id == job_id,
                job_events.c.tenant_id == tenant_id,
                job_events.c.seq > seq,
            )
            .order_by(job_events.c.seq)
        )
    ).all()


async def claim_progress_callback(
    session: AsyncSession, job_id: str, *, at: datetime, every: timedelta
) -> bool:
    """True when no progress event went out for the job's webhook in the last `every`
    (and now it has the turn)."""
    result = await session.execute(
        jobs.update()
        .where(
            jobs.c.id == job_id,
            sa.or_(
                jobs.c.callback_progress_at.is_(None), jobs.c.callback_progress_at <= at - every
            ),
        )
        .values(callback_progress_at=at)
    )
    return _changed(result) > 0


async def heartbeat(session: AsyncSession, *, job_ids: Sequence[str], worker_id: str) -> None:
    if job_ids:
        await session.execute(
            jobs.update()
            .where(
                jobs.c.id.in_(tuple(job_ids)),
                jobs.c.worker_id == worker_id,
                jobs.c.status == "running",
            )
            .values(heartbeat_at=now())
        )


async def jobs_for_worker(session: AsyncSession, job_ids: Sequence[str]) -> Sequence[sa.Row]:
    if not job_ids:
        return []
    return (
        await session.execute(
            sa.select(jobs.c.id, jobs.c.status, jobs.c.cancel_requested, jobs.c.worker_id).where(
                jobs.c.id.in_(tuple(job_ids))
            )
        )
    ).all()


async def lost_jobs(session: AsyncSession, *, older_than: datetime) -> Sequence[sa.Row]:
    """Running jobs whose worker has not been heard from since `older_than`."""
    return (
        await session.execute(
            sa.select(jobs.c.id).where(
                jobs.c.status == "running",
                sa.or_(jobs.c.heartbeat_at.is_(None), jobs.c.heartbeat_at < older_than),
            )
        )
    ).all()


# -- workers -------------------------------------------------------------------------------


def _insert(session: AsyncSession, table: sa.Table) -> Any:
    return (pg_insert if _is_postgres(session) else sqlite_insert)(table)


async def record_worker(session: AsyncSession, *, worker_id: str, capacity: int) -> None:
    """The worker was heard from now and runs `capacity` image rows at once: one upsert."""
    stmt = _insert(session, workers).values(worker_id=worker_id, capacity=capacity, seen_at=now())
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["worker_id"],
            set_={"capacity": stmt.excluded.capacity, "seen_at": stmt.excluded.seen_at},
        )
    )


async def worker_rows(session: AsyncSession, *, seen_since: datetime) -> tuple[int, int]:
    """(capacity, busy) over the live workers (heard from at or after `seen_since`) that
    report a capacity: their rows, and the images of the jobs running on them. One query."""
    live = sa.and_(workers.c.seen_at >= seen_since, workers.c.capacity > 0)
    capacity = (
        sa.select(sa.func.coalesce(sa.func.sum(workers.c.capacity), 0))
        .where(live)
        .scalar_subquery()
    )
    busy = (
        sa.select(sa.func.coalesce(sa.func.sum(jobs.c.num_images), 0))
        .where(
            jobs.c.status == "running",
            jobs.c.worker_id.in_(sa.select(workers.c.worker_id).where(live)),
        )
        .scalar_subquery()
    )
    row = (await session.execute(sa.select(capacity, busy))).one()
    return int(row[0] or 0), int(row[1] or 0)


async def forget_workers(session: AsyncSession, *, seen_before: datetime) -> int:
    """Drop the workers not heard from since `seen_before` (each restart may bring a new
    id); how many."""
    result = await session.execute(workers.delete().where(workers.c.seen_at < seen_before))
    return _changed(result) or 0


# -- images --------------------------------------------------------------------------------


async def insert_images(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(images.insert(), rows)


async def get_image(session: AsyncSession, *, tenant_id: str, image_id: str) -> sa.Row | None:
    return (
        await session.execute(
            sa.select(images).where(images.c.id == image_id, images.c.tenant_id == tenant_id)
        )
    ).first()


async def list_images(
    session: AsyncSession,
    *,
    tenant_id: str,
    after: tuple[datetime, str] | None,
    limit: int,
    model: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Sequence[sa.Row]:
    c = images.c
    query = sa.select(images).where(c.tenant_id == tenant_id)
    if model:
        query = query.where(c.model == model)
    if since is not None:
        query = query.where(c.created_at >= since)
    if until is not None:
        query = query.where(c.created_at < until)
    if after is not None:
        at, last_id = after
        query = query.where(sa.or_(c.created_at < at, sa.and_(c.created_at == at, c.id < last_id)))
    query = query.order_by(c.created_at.desc(), c.id.desc()).limit(limit)
    return (await session.execute(query)).all()


async def delete_image(session: AsyncSession, *, tenant_id: str, image_id: str) -> bool:
    result = await session.execute(
        images.delete().where(images.c.id == image_id, images.c.tenant_id == tenant_id)
    )
    return _changed(result) == 1


# -- the team's settings ---------------------------------------------------------------------


async def member_image_deletion(session: AsyncSession, *, tenant_id: str) -> str | None:
    """`own` or `any` as tenants last said; None when it never did (the default applies)."""
    return await session.scalar(
        sa.select(team_settings.c.member_image_deletion).where(
            team_settings.c.tenant_id == tenant_id
        )
    )


async def store_team_settings(
    session: AsyncSession, *, tenant_id: str, member_image_deletion: str, changed_at: datetime
) -> None:
    """Keeps the latest: an event older than the stored one changes nothing."""
    stmt = _insert(session, team_settings).values(
        tenant_id=tenant_id, member_image_deletion=member_image_deletion, changed_at=changed_at
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["tenant_id"],
            set_={
                "member_image_deletion": stmt.excluded.member_image_deletion,
                "changed_at": stmt.excluded.changed_at,
            },
            where=team_settings.c.changed_at <= stmt.excluded.changed_at,
        )
    )


# -- a deleted tenant ------------------------------------------------------------------------


async def unfinished_jobs(session: AsyncSession, *, tenant_id: str) -> Sequence[sa.Row]:
    return (
        await session.execute(
            sa.select(jobs).where(jobs.c.tenant_id == tenant_id, jobs.c.status.in_(UNFINISHED))
        )
    ).all()


async def purge_tenant(session: AsyncSession, *, tenant_id: str) -> None:
    for table in (job_events, images, jobs, entitlements, scheduler, team_settings):
        await session.execute(table.delete().where(table.c.tenant_id == tenant_id))
