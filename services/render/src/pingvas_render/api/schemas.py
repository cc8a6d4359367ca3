"""Request and response bodies of the public and internal API (docs/render.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pingvas_contracts.events.render import Scheduler


class GenerationIn(BaseModel):
    """What to generate; omitted sizes, steps, cfg and scheduler take the model's defaults."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=2000)
    negative_prompt: str = Field(default="", max_length=2000)
    model: str = Field(min_length=1, max_length=128)
    #: the plan's and the model's own maxima (GET /entitlements, GET /models) may be lower
    width: int | None = Field(default=None, ge=64, le=4096, multiple_of=8)
    height: int | None = Field(default=None, ge=64, le=4096, multiple_of=8)
    steps: int | None = Field(default=None, ge=1, le=150)
    cfg_scale: float | None = Field(default=None, ge=1.0, le=30.0)
    scheduler: Scheduler | None = None
    seed: int | None = Field(default=None, ge=0, le=4294967295)
    num_images: int = Field(default=1, ge=1, le=16)
    webhook: str | None = Field(
        default=None,
        min_length=8,
        max_length=2048,
        description="a per-request webhook: this job's lifecycle is POSTed there, signed "
        "with the team's callback secret (GET /api/v1/webhooks/callback-secret); https in "
        "production, never a private address",
        examples=["https://partner.example.com/pingvas/callback"],
    )
    webhook_events_filter: list[Literal["started", "progress", "completed"]] | None = Field(
        default=None,
        min_length=1,
        description="what the webhook gets (default all three); completed also covers "
        "failed and cancelled",
    )


class JobError(BaseModel):
    code: str
    reason: str


class JobOut(BaseModel):
    id: str
    status: Literal["queued", "running", "completed", "failed", "cancelled"]
    request: dict[str, Any]
    seed: int
    credits_reserved: int
    credits_used: int | None
    queue_position: int | None
    progress: float
    image_ids: list[str]
    error: JobError | None
    attempts: int
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    webhook: str | None = None
    webhook_events_filter: list[str] | None = None


class JobPage(BaseModel):
    items: list[JobOut]
    next_cursor: str | None


class ImageOut(BaseModel):
    id: str
    job_id: str
    user_id: str | None = Field(
        default=None, description="the person whose generation made it; null for an API key's"
    )
    index: int
    prompt: str
    negative_prompt: str
    model: str
    width: int
    height: int
    seed: int
    steps: int
    cfg_scale: float
    scheduler: str
    size_bytes: int
    created_at: datetime
    url: str
    thumbnail_url: str
    download_name: str = Field(
        description="a readable file name: `pingvas-<day>-<prompt words>.png`"
    )
    download_url: str = Field(
        description="presigned like `url`, but S3 answers it as an attachment named "
        "`download_name`: following it saves the file instead of showing it"
    )


class ImagePage(BaseModel):
    items: list[ImageOut]
    next_cursor: str | None


class ModelOut(BaseModel):
    key: str
    name: str
    base: str
    default_width: int
    default_height: int
    max_width: int
    max_height: int
    default_steps: int
    max_steps: int
    default_cfg_scale: float
    default_scheduler: str
    credit_factor: float
    test: bool


class ModelList(BaseModel):
    items: list[ModelOut]


class EntitlementsOut(BaseModel):
    plan: str
    credits_available: int
    credits_reserved: int
    max_concurrent_jobs: int
    max_images_per_job: int
    max_width: int
    max_height: int
    allowed_models: list[str]
    priority_weight: int


# -- internal API ---------------------------------------------------------------------------

WorkerId = Annotated[str, Field(min_length=1, max_length=128)]


class StartIn(BaseModel):
    worker_id: WorkerId
    receive_count: int = Field(default=1, ge=0)


class ProgressIn(BaseModel):
    attempt: int = Field(ge=0)
    progress: float = Field(ge=0.0, le=1.0)
    image_index: int = Field(default=0, ge=0)
    #: a small data: URL (WebP) or null
    preview: str | None = Field(default=None, max_length=256 * 1024)


class HeartbeatIn(BaseModel):
    worker_id: WorkerId
    #: the jobs it holds (a batched worker holds up to `capacity` of them)
    job_ids: list[str] = Field(default_factory=list, max_length=1024)
    #: image rows the worker's engine runs at once (0: it does not say; older workers)
    capacity: int = Field(default=0, ge=0, le=1024)


class ImageDone(BaseModel):
    image_id: str = Field(min_length=1, max_length=64)
    index: int = Field(ge=0)
    seed: int = Field(ge=0, le=4294967295)
    png_key: str = Field(min_length=1, max_length=1024)
    thumbnail_key: str = Field(min_length=1, max_length=1024)
    size_bytes: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class CompleteIn(BaseModel):
    worker_id: WorkerId
    attempt: int = Field(ge=0)
    duration_ms: int | None = Field(default=None, ge=0)
    images: list[ImageDone] = Field(max_length=16)


class FailIn(BaseModel):
    worker_id: WorkerId
    attempt: int = Field(ge=0)
    error_code: str = Field(min_length=1, max_length=32)
    reason: str = Field(default="", max_length=2000)
    retryable: bool = False


class CancelledIn(BaseModel):
    worker_id: WorkerId
    attempt: int = Field(default=0, ge=0)
