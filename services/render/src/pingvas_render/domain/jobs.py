"""The rules of a job's life, as plain functions: who asked, what a worker's start, failure
and silence lead to, what a completed job is charged, and whether its images are its own.

Nothing here reads or writes: the use cases (`usecases/jobs/`) hold the transaction and
apply these decisions with a compare-and-set on the job's status, so each transition
happens exactly once however often it is asked for."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from pingvas_contracts.events.render import JobFailed

from .errors import Invalid

ERROR_CODES = frozenset(get_args(JobFailed.model_fields["error_code"].annotation))
SEED_MODULUS = 2**32
#: Retry-After (seconds) for a tenant over its unfinished-jobs limit
RETRY_AFTER_S = 10
#: a progress post refreshes the heartbeat at most this often
HEARTBEAT_EVERY = timedelta(seconds=5)
#: a tenant may have this many times its concurrent jobs waiting or running
UNFINISHED_PER_CONCURRENT = 10
REASON_MAX = 500

Kind = Literal["user", "api_key"]
CancelledBy = Literal["user", "api_key", "system"]
Stage = Literal["queued", "running"]


@dataclass(frozen=True)
class Who:
    """The caller, from the verified identity."""

    tenant_id: str
    kind: Kind
    principal_id: str
    #: a person's roles in the tenant (none for an API key)
    roles: tuple[str, ...] = ()

    @property
    def user_id(self) -> str | None:
        return self.principal_id if self.kind == "user" else None

    @property
    def api_key_id(self) -> str | None:
        return self.principal_id if self.kind == "api_key" else None


class Refused(Exception):
    """The worker may not go on with the job (internal API answers 409)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def request_hash(body: dict[str, Any]) -> str:
    """The digest an Idempotency-Key is bound to: the body, canonically serialised."""
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()


def unfinished_limit(max_concurrent_jobs: int) -> int:
    return max_concurrent_jobs * UNFINISHED_PER_CONCURRENT


def stage_of(status: str) -> Stage:
    return "running" if status == "running" else "queued"


def cancelled_by(user_id: str | None, api_key_id: str | None) -> CancelledBy:
    # who asked is not stored; the job's owner kind is the best account of it
    return "user" if user_id else "api_key" if api_key_id else "system"


def failure(code: str, reason: str | None) -> tuple[str, str]:
    """The error code as the contract knows it (else `internal`) and a bounded reason."""
    return (
        code if code in ERROR_CODES else "internal",
        (reason or "The generation failed.")[:REASON_MAX],
    )


StartDecision = Literal["cancel", "not_dispatched", "running_elsewhere", "out_of_attempts", "start"]


def start_decision(
    *,
    status: str,
    cancel_requested: bool,
    job_worker_id: str | None,
    worker_id: str,
    heartbeat_at: datetime | None,
    now: datetime,
    takeover: timedelta,
    attempts: int,
    max_attempts: int,
) -> StartDecision:
    """What a worker's start of an unfinished job leads to. A dispatched job starts; a
    running one whose worker went silent (its message came back) or whose worker asks
    again starts a new attempt; a running one with a live worker elsewhere is a duplicate
    message; past `max_attempts` the job is out of attempts."""
    if cancel_requested:
        return "cancel"
    if status == "queued":
        # the dispatcher put it back (a send that timed out): it sends it again
        return "not_dispatched"
    if (
        status == "running"
        and job_worker_id != worker_id
        and heartbeat_at is not None
        and now - heartbeat_at < takeover
    ):
        return "running_elsewhere"
    if attempts >= max_attempts:
        return "out_of_attempts"
    return "start"


def fail_decision(
    *, cancel_requested: bool, retryable: bool, attempts: int, max_attempts: int
) -> Literal["cancel", "requeue", "fail"]:
    """A worker's failure report: a cancelled job is cancelled, a retryable failure with
    attempts left goes back to the queue, anything else fails for good."""
    if cancel_requested:
        return "cancel"
    if retryable and attempts < max_attempts:
        return "requeue"
    return "fail"


def lost_decision(
    *,
    cancel_requested: bool,
    attempts: int,
    max_attempts: int,
    heartbeat_at: datetime | None,
    forgotten: datetime,
) -> Literal["cancel", "fail", "requeue", "wait"]:
    """A running job whose worker went silent: cancel it if that was asked for, fail it
    when out of attempts (a redelivery would be refused anyway), send it again when it was
    silent so long that its message is gone too; else its message comes back to a worker,
    which takes over."""
    if cancel_requested:
        return "cancel"
    if attempts >= max_attempts:
        return "fail"
    if heartbeat_at is None or heartbeat_at < forgotten:
        return "requeue"
    return "wait"


def should_stop(
    *, status: str | None, cancel_requested: bool, job_worker_id: str | None, worker_id: str
) -> bool:
    """Whether a worker's heartbeat is answered with stop for a job it holds (`status`
    None: no such job)."""
    return (
        status is None
        or status in ("cancelled", "failed")
        or cancel_requested
        # another worker took it over, or it went back to the queue without us
        or (status in ("running", "queued") and job_worker_id != worker_id)
    )


def credits_used(*, reserved: int, num_images: int, images_done: int) -> int:
    """A completed job is charged for the images it made, never above what it reserved."""
    per_image = reserved // max(num_images, 1)
    return min(per_image * images_done, reserved)


def check_images(prefix: str, expected: Sequence[str], images: Sequence[dict[str, Any]]) -> None:
    """A completion's images are the job's own (by index), each once, stored under the
    tenant's `prefix`; raises Invalid with every problem found."""
    errors: list[dict[str, str]] = []
    seen: set[str] = set()
    if not images:
        errors.append({"field": "images", "message": "A completed job has at least one image."})
    for i, image in enumerate(images):
        index = image["index"]
        if not 0 <= index < len(expected) or expected[index] != image["image_id"]:
            errors.append({"field": f"images.{i}.image_id", "message": "Not this job's image."})
        if image["image_id"] in seen:
            errors.append({"field": f"images.{i}.image_id", "message": "Reported twice."})
        seen.add(image["image_id"])
        for key in ("png_key", "thumbnail_key"):
            if not image[key].startswith(prefix):
                errors.append({"field": f"images.{i}.{key}", "message": "Outside the tenant."})
    if errors:
        raise Invalid(errors)
