"""Events published by the render context.

The tenant travels in the envelope's `tenantid`. A job is asked for either by a person
(`user_id`) or by a partner's API key (`api_key_id`); credits are whole numbers, reserved
when the job is queued and settled by billing when it completes, fails or is cancelled.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..base import EventData, event
from ..types import Id, ModelKey, Timestamp, Url

Prompt = Annotated[str, Field(min_length=1, max_length=2000)]
NegativePrompt = Annotated[str, Field(max_length=2000)]
Dimension = Annotated[int, Field(ge=64, le=2048, multiple_of=8)]
Seed = Annotated[int, Field(ge=0, le=4294967295)]
Steps = Annotated[int, Field(ge=1, le=150)]
CfgScale = Annotated[float, Field(ge=1.0, le=30.0)]
S3Key = Annotated[str, Field(min_length=1, max_length=1024, pattern=r"^[^/\s][^\s]*$")]
Credits = Annotated[int, Field(ge=0)]

#: InvokeAI's scheduler names (a new one is a compatible, widening change)
Scheduler = Literal[
    "ddim",
    "ddpm",
    "deis",
    "deis_k",
    "lms",
    "lms_k",
    "pndm",
    "heun",
    "heun_k",
    "euler",
    "euler_k",
    "euler_a",
    "kdpm_2",
    "kdpm_2_k",
    "kdpm_2_a",
    "kdpm_2_a_k",
    "dpmpp_2s",
    "dpmpp_2s_k",
    "dpmpp_sde",
    "dpmpp_sde_k",
    "dpmpp_2m",
    "dpmpp_2m_k",
    "dpmpp_2m_sde",
    "dpmpp_2m_sde_k",
    "dpmpp_3m",
    "dpmpp_3m_k",
    "unipc",
    "unipc_k",
    "lcm",
    "tcd",
]

_JOB = "0b9f7c7e-4f55-4c1e-9a53-3f0d2f4b9a10"
_USER = "5d6f0f0e-3a8b-4d9a-8f0c-1b2a3c4d5e6f"
_KEY = "e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9"
_IMAGE = "c1f1e8e2-9d5b-4f0f-8b6c-2a4f6e8d0b1c"
_TENANT_PREFIX = "tenants/3f2b8c1e-6a7d-4e59-9c0b-2d1e4f6a8b9c/images/2026/11/26"


class GenerationRequest(BaseModel):
    """What was asked for: the parameters of a text-to-image generation."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    prompt: Prompt = Field(description="positive prompt (Korean or English)")
    negative_prompt: NegativePrompt = Field(default="", description="negative prompt")
    model: ModelKey = Field(description="model key from render's catalog")
    width: Dimension = Field(description="image width in pixels (multiple of 8)")
    height: Dimension = Field(description="image height in pixels (multiple of 8)")
    num_images: int = Field(ge=1, le=16, description="number of images to generate")
    steps: Steps = Field(description="denoising steps")
    cfg_scale: CfgScale = Field(description="classifier-free guidance scale")
    scheduler: Scheduler = Field(description="InvokeAI scheduler name")
    seed: Seed | None = Field(
        default=None, description="seed of the first image; null for a random one"
    )


CallbackEvent = Literal["started", "progress", "completed"]


class Callback(BaseModel):
    """A per-request webhook: where the job's own lifecycle is posted, signed with the
    team's callback secret (tenants delivers it)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    url: Url = Field(description="the caller's https URL (checked against private addresses)")
    events: list[CallbackEvent] = Field(
        min_length=1,
        description="what to post: started, progress, completed (completed also covers "
        "failed and cancelled)",
    )


_CALLBACK = {"url": "https://partner.example.com/pingvas/callback", "events": ["completed"]}

_REQUEST = {
    "prompt": "한옥 마당에 내리는 첫눈, 따뜻한 등불, 시네마틱 조명",
    "negative_prompt": "blurry, low quality, watermark",
    "model": "sdxl-base-1.0",
    "width": 1024,
    "height": 1024,
    "num_images": 2,
    "steps": 30,
    "cfg_scale": 6.5,
    "scheduler": "dpmpp_2m_k",
    "seed": None,
}


@event(
    "pingvas.render.job.queued.v1",
    examples=[
        {
            "job_id": _JOB,
            "user_id": _USER,
            "api_key_id": None,
            "request": _REQUEST,
            "credits_reserved": 4,
            "queued_at": "2026-11-26T10:14:20Z",
        },
        {
            "job_id": "6e5d4c3b-2a19-4807-b6a5-948372615f0e",
            "user_id": None,
            "api_key_id": _KEY,
            "request": {
                "prompt": "isometric cozy coffee shop, pastel colors, 3d render",
                "model": "sdxl-turbo",
                "width": 512,
                "height": 512,
                "num_images": 1,
                "steps": 4,
                "cfg_scale": 1.0,
                "scheduler": "euler_a",
                "seed": 123456789,
            },
            "credits_reserved": 1,
            "queued_at": "2026-11-26T10:14:25Z",
        },
    ],
)
class JobQueued(EventData):
    """A generation job was accepted: render checked the tenant's entitlements, reserved
    `credits_reserved` against its projection of the balance, and queued the job for a
    GPU worker. The reservation is settled by `job.completed`, `job.failed` or
    `job.cancelled`."""

    job_id: Id = Field(description="render job id")
    user_id: Id | None = Field(description="user who asked, if a person")
    api_key_id: Id | None = Field(default=None, description="API key that asked, if a partner")
    request: GenerationRequest = Field(description="the generation parameters")
    credits_reserved: Credits = Field(description="credits held for this job")
    queued_at: Timestamp = Field(description="when the job was accepted")


@event(
    "pingvas.render.job.started.v1",
    examples=[
        {
            "job_id": _JOB,
            "worker_id": "gpu-worker-7d9c5b-x2k4p",
            "attempt": 1,
            "queue_wait_ms": 2840,
            "started_at": "2026-11-26T10:14:23Z",
        }
    ],
)
class JobStarted(EventData):
    """A GPU worker began running the job."""

    job_id: Id = Field(description="render job id")
    worker_id: str = Field(
        min_length=1, max_length=128, description="worker (pod) that runs the job"
    )
    attempt: int = Field(ge=1, description="attempt number; >1 after a worker was lost")
    queue_wait_ms: int = Field(ge=0, description="time spent queued, in milliseconds")
    started_at: Timestamp = Field(description="when the worker started the job")
    callback: Callback | None = Field(
        default=None, description="the job's per-request webhook, if the request named one"
    )


@event(
    "pingvas.render.job.progressed.v1",
    examples=[
        {
            "job_id": _JOB,
            "progress": 0.5,
            "callback": {
                "url": "https://partner.example.com/pingvas/callback",
                "events": ["progress", "completed"],
            },
            "at": "2026-11-26T10:14:27Z",
        }
    ],
)
class JobProgressed(EventData):
    """A running job got further. Published only for a job whose per-request webhook asked
    for `progress`, and at most every few seconds per job (the live progress of the SPA
    goes through render's own stream, not the bus)."""

    job_id: Id = Field(description="render job id")
    progress: float = Field(ge=0.0, le=1.0, description="fraction done, 0..1")
    callback: Callback = Field(description="the job's per-request webhook")
    at: Timestamp = Field(description="when the worker reported it")


@event(
    "pingvas.render.job.completed.v1",
    examples=[
        {
            "job_id": _JOB,
            "user_id": _USER,
            "api_key_id": None,
            "image_ids": [_IMAGE, "d2a2f9f3-ae6c-4a1f-9c7d-3b5a7f9e1c2d"],
            "credits_reserved": 4,
            "credits_used": 4,
            "duration_ms": 9150,
            "completed_at": "2026-11-26T10:14:32Z",
        }
    ],
)
class JobCompleted(EventData):
    """A generation job finished; carries the credits actually used (billing settles
    them and releases the rest of the reservation)."""

    job_id: Id = Field(description="render job id")
    user_id: Id | None = Field(description="user who asked, if a person")
    api_key_id: Id | None = Field(default=None, description="API key that asked, if a partner")
    image_ids: list[Id] = Field(min_length=1, description="images produced, in order")
    credits_reserved: Credits = Field(description="credits held when the job was queued")
    credits_used: Credits = Field(description="credits to charge (at most the reservation)")
    duration_ms: int | None = Field(default=None, ge=0, description="GPU run time in milliseconds")
    completed_at: Timestamp = Field(description="when the job finished")
    callback: Callback | None = Field(
        default=None, description="the job's per-request webhook, if the request named one"
    )


@event(
    "pingvas.render.job.failed.v1",
    examples=[
        {
            "job_id": _JOB,
            "user_id": _USER,
            "api_key_id": None,
            "error_code": "out_of_memory",
            "reason": "The GPU ran out of memory at 2048x2048; try a smaller size.",
            "attempts": 2,
            "credits_reserved": 4,
            "credits_released": 4,
            "failed_at": "2026-11-26T10:15:02Z",
        }
    ],
)
class JobFailed(EventData):
    """A job failed for good (after any retries). Billing releases `credits_released`
    of the reservation; the user sees `reason`."""

    job_id: Id = Field(description="render job id")
    user_id: Id | None = Field(description="user who asked, if a person")
    api_key_id: Id | None = Field(default=None, description="API key that asked, if a partner")
    error_code: Literal[
        "invalid_request",
        "model_unavailable",
        "content_blocked",
        "out_of_memory",
        "worker_lost",
        "timeout",
        "internal",
    ] = Field(description="machine-readable failure class")
    reason: str = Field(
        min_length=1,
        max_length=500,
        description="human-readable reason, safe to show the user (no stack traces)",
    )
    attempts: int = Field(ge=1, description="attempts made")
    credits_reserved: Credits = Field(description="credits held when the job was queued")
    credits_released: Credits = Field(description="credits to give back to the tenant")
    failed_at: Timestamp = Field(description="when the job was declared failed")
    callback: Callback | None = Field(
        default=None, description="the job's per-request webhook, if the request named one"
    )


@event(
    "pingvas.render.job.cancelled.v1",
    examples=[
        {
            "job_id": _JOB,
            "user_id": _USER,
            "api_key_id": None,
            "cancelled_by": "user",
            "cancelled_by_user_id": _USER,
            "stage": "queued",
            "credits_reserved": 4,
            "credits_released": 4,
            "cancelled_at": "2026-11-26T10:14:22Z",
        }
    ],
)
class JobCancelled(EventData):
    """A job was cancelled before it completed. `credits_released` of the reservation go
    back to the tenant (all of it when the job had not started); nothing is charged."""

    job_id: Id = Field(description="render job id")
    user_id: Id | None = Field(description="user who asked, if a person")
    api_key_id: Id | None = Field(default=None, description="API key that asked, if a partner")
    cancelled_by: Literal["user", "api_key", "operator", "system"] = Field(
        description="who cancelled (system: tenant deleted, entitlement lost)"
    )
    cancelled_by_user_id: Id | None = Field(
        default=None, description="user who cancelled, when a person did"
    )
    stage: Literal["queued", "running"] = Field(description="where the job was when cancelled")
    credits_reserved: Credits = Field(description="credits held when the job was queued")
    credits_released: Credits = Field(description="credits to give back to the tenant")
    cancelled_at: Timestamp = Field(description="when the job was cancelled")
    callback: Callback | None = Field(
        default=None, description="the job's per-request webhook, if the request named one"
    )


@event(
    "pingvas.render.image.created.v1",
    examples=[
        {
            "image_id": _IMAGE,
            "job_id": _JOB,
            "user_id": _USER,
            "api_key_id": None,
            "index": 0,
            "prompt": "한옥 마당에 내리는 첫눈, 따뜻한 등불, 시네마틱 조명",
            "negative_prompt": "blurry, low quality, watermark",
            "model": "sdxl-base-1.0",
            "width": 1024,
            "height": 1024,
            "seed": 2871045513,
            "steps": 30,
            "cfg_scale": 6.5,
            "scheduler": "dpmpp_2m_k",
            "png_key": f"{_TENANT_PREFIX}/{_IMAGE}.png",
            "thumbnail_key": f"{_TENANT_PREFIX}/{_IMAGE}.thumb.webp",
            "size_bytes": 1584302,
            "sha256": "9f2c4d6e8a0b1c3d5e7f9a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d",
            "created_at": "2026-11-26T10:14:31Z",
        }
    ],
)
class ImageCreated(EventData):
    """An image was generated and stored (PNG + WebP thumbnail in S3 under the tenant's
    prefix). Search indexes its prompt; tenants delivers partner webhooks. Everything
    needed to index or reproduce it is here, with the concrete seed used."""

    image_id: Id = Field(description="image id")
    job_id: Id = Field(description="job that produced it")
    user_id: Id | None = Field(description="user who asked, if a person")
    api_key_id: Id | None = Field(default=None, description="API key that asked, if a partner")
    index: int = Field(ge=0, description="position of the image within its job")
    prompt: Prompt = Field(description="positive prompt")
    negative_prompt: NegativePrompt = Field(default="", description="negative prompt")
    model: ModelKey = Field(description="model key used")
    width: Dimension = Field(description="width in pixels")
    height: Dimension = Field(description="height in pixels")
    seed: Seed = Field(description="seed actually used")
    steps: Steps = Field(description="denoising steps")
    cfg_scale: CfgScale = Field(description="classifier-free guidance scale")
    scheduler: Scheduler = Field(description="InvokeAI scheduler name")
    png_key: S3Key = Field(description="S3 key of the full-size PNG (images bucket)")
    thumbnail_key: S3Key = Field(description="S3 key of the WebP thumbnail (images bucket)")
    size_bytes: int = Field(ge=1, description="size of the PNG in bytes")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the PNG, hex")
    created_at: Timestamp = Field(description="when the image was stored")


@event(
    "pingvas.render.image.deleted.v1",
    examples=[
        {
            "image_id": _IMAGE,
            "job_id": _JOB,
            "deleted_by_user_id": _USER,
            "reason": "user",
            "deleted_at": "2026-12-01T13:00:00Z",
        }
    ],
)
class ImageDeleted(EventData):
    """An image was deleted (its S3 objects are gone); search drops it from the index."""

    image_id: Id = Field(description="image id")
    job_id: Id = Field(description="job that produced it")
    deleted_by_user_id: Id | None = Field(
        description="user who deleted it; null when deleted automatically"
    )
    deleted_by_api_key_id: Id | None = Field(
        default=None, description="API key that deleted it, when a key did (no user then)"
    )
    reason: Literal["user", "retention", "moderation", "tenant_deleted"] = Field(
        description="why the image was deleted"
    )
    deleted_at: Timestamp = Field(description="when the image was deleted")
