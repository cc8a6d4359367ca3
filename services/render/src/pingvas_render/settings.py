"""The render service's settings: environment variables prefixed RENDER_ (e.g. RENDER_PORT)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from pingvas_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RENDER_", extra="ignore")
    service_name: ClassVar[str] = "render"
    optional_secret_settings: ClassVar[tuple[str, ...]] = ("worker_token", "export_token")

    port: int = 8103

    #: S3 bucket of the PNGs and thumbnails (keys tenants/{tenant_id}/images/...)
    images_bucket: str = "pingvas-images"
    #: the SQS work queue the GPU workers pull from; its name gets the bus prefix
    work_queue_name: str = "render-work"
    #: create the bucket and the work queue at start-up when missing (local run, tests)
    create_resources: bool = True
    #: allow the catalog's `test` models on every plan (local run and tests; off in production)
    test_models: bool = False
    models_dir: str = "var/models"
    #: another model catalog (TOML) instead of the packaged one
    catalog: str | None = None
    #: progress hub across replicas; in process when unset
    redis_url: str | None = None
    #: bearer token of the internal API; default derived from the internal secret
    worker_token: SecretStr | None = None
    #: bearer token of the export API (search's reindex); default derived likewise
    export_token: SecretStr | None = None
    #: attempts a job gets before it fails for good (a lost worker counts as one)
    max_attempts: int = 3
    #: a running job whose heartbeat is older than this is considered lost
    lease_timeout_s: float = 60.0
    #: how often the sweeper looks for lost jobs
    sweep_interval_s: float = 5.0
    #: lifetime of presigned image URLs
    presign_ttl_s: int = 300
    #: dispatched jobs not yet started that the work queue holds beyond the live workers'
    #: free rows (all of it while no worker reports a capacity)
    dispatch_depth: int = 2
    #: a worker not heard from (heartbeat) for this long no longer counts: its rows are
    #: not filled (docs/render.md, "Fair scheduling")
    worker_stale_s: float = 20.0
    dispatch_interval_s: float = 0.2
    dispatcher_enabled: bool = True
    #: SSE keep-alive comment interval, and how often a stream re-reads the job (lifecycle
    #: changes wake it at once through the hub; this catches what a hub missed and moves
    #: the queue position)
    sse_keepalive_s: float = 15.0
    sse_poll_s: float = 2.0

    #: per-request webhooks may name loopback and private addresses: the local run and the
    #: tests only (their receivers run on 127.0.0.1); refused in production
    webhook_allow_private: bool = False
    #: a job's per-request webhook gets a progress event at most this often
    callback_progress_every_s: float = 2.0

    @model_validator(mode="after")
    def _no_private_webhooks_in_production(self) -> Settings:
        if self.is_production and self.webhook_allow_private:
            raise ValueError(
                "RENDER_WEBHOOK_ALLOW_PRIVATE=true is for the local run only: production "
                "never sends webhooks to loopback or private addresses"
            )
        return self

    @property
    def work_queue_full_name(self) -> str:
        """The work queue's name, prefixed like the bus queues (`{bus_prefix}-render-work`)."""
        return f"{self.bus_prefix}-{self.work_queue_name}"

    def export_token_value(self) -> str:
        if self.export_token is not None:
            return self.export_token.get_secret_value()
        return self.derived_token("render-export")

    def worker_token_value(self) -> str:
        if self.worker_token is not None:
            return self.worker_token.get_secret_value()
        return self.derived_token("render-worker")
