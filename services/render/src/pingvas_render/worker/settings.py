"""The GPU worker's settings: environment variables prefixed RENDER_WORKER_.

The worker holds no internal secret (it could mint identities for every service): only
RENDER_WORKER_WORKER_TOKEN, the bearer token of render's internal worker API (render
derives it as HMAC-SHA256(internal secret, "render-worker"); the local run passes it)."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from pingvas_kit.settings import (
    DEV_INTERNAL_SECRET,
    BaseServiceSettings,
    derive_token,
    register_dev_secret,
)

#: DEVELOPMENT ONLY (public, refused in production)
DEV_WORKER_TOKEN = register_dev_secret("dev-render-worker-token-change-me-0123456789")


def _default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class WorkerSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RENDER_WORKER_", extra="ignore")
    service_name: ClassVar[str] = "render-worker"
    secret_settings: ClassVar[tuple[str, ...]] = ("worker_token",)

    worker_id: str = ""
    #: /healthz, /readyz and /metrics (for the kubelet and Prometheus)
    port: int = 8110
    #: the render service's internal API
    render_url: str = "http://127.0.0.1:8103"
    #: bearer token of render's internal API (RENDER_WORKER_WORKER_TOKEN): required in
    #: production; outside it, unset means the token render derives from its development
    #: internal secret
    worker_token: SecretStr | None = None
    work_queue_name: str = "render-work"
    images_bucket: str = "pingvas-images"
    #: auto: the batched engine for every job it can render, InvokeAI (started when first
    #: needed) for the rest; batched or invokeai: that engine alone
    engine: Literal["auto", "batched", "invokeai"] = "auto"
    #: the batched engine's rows per pass (lowered on a GPU to what free memory holds)
    engine_rows: int = 8
    #: memory the batched engine's resident models may take; 0: 60% of free VRAM on a GPU
    engine_model_memory_mb: int = 0
    #: torch threads of the batched engine on a CPU (0: torch's default)
    engine_threads: int = 0
    #: torch.compile the UNet (GPU; slower start, faster steps)
    engine_compile: bool = False
    #: an InvokeAI already running (e.g. a sidecar); otherwise the worker starts its own
    engine_url: str | None = None
    #: the InvokeAI environment's python (scripts/engine-env prints it)
    engine_python: Path | None = None
    engine_root: Path | None = None
    #: 0: any free port
    engine_port: int = 0
    engine_device: str = "cpu"
    engine_precision: str = "float32"
    models_dir: Path = Path("var/models")
    #: images held at once with the InvokeAI engine alone: one denoising, the next already
    #: queued in it (the batched engine holds as many as it has rows)
    prefetch: int = 2
    visibility_timeout_s: int = 30
    heartbeat_interval_s: float = 5.0
    #: most progress updates per second per job sent to render
    progress_rate: float = 4.0
    #: a job render says another worker is still running: look at it again after this long
    busy_retry_s: int = 10
    thumbnail_size: int = 256
    #: SIGTERM: how long to let the current jobs finish before leaving them to another worker
    drain_timeout_s: float = 600.0

    def resolved_worker_id(self) -> str:
        return self.worker_id or _default_worker_id()

    def worker_token_value(self) -> str:
        if self.worker_token is not None:
            return self.worker_token.get_secret_value()
        if self.is_production:
            raise RuntimeError("RENDER_WORKER_WORKER_TOKEN is not set")
        return derive_token(DEV_INTERNAL_SECRET, "render-worker")
