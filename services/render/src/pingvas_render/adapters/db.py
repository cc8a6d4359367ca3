"""The render service's tables, in its own schema (docs/render.md, "Tables"; the
migrations in migrations/versions/ create them). SQLite hands back naive datetimes: they
are UTC."""

import sqlalchemy as sa

from pingvas_kit.messaging import inbox_table, outbox_table

metadata = sa.MetaData()

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

Id = sa.String(36)
When = sa.DateTime(timezone=True)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("tenant_id", Id, nullable=False),
    sa.Column("user_id", Id, nullable=True),
    sa.Column("api_key_id", Id, nullable=True),
    sa.Column("idempotency_key", sa.String(255), nullable=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    # the generation parameters, with the concrete seed
    sa.Column("request", sa.JSON(), nullable=False),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("seed", sa.BigInteger(), nullable=False),
    sa.Column("num_images", sa.Integer(), nullable=False),
    # one id per image, fixed when the job is queued (a job that runs twice overwrites)
    sa.Column("image_ids", sa.JSON(), nullable=False),
    sa.Column("credits_reserved", sa.Integer(), nullable=False),
    sa.Column("credits_used", sa.Integer(), nullable=True),
    # queued | dispatched | running | completed | failed | cancelled
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("worker_id", sa.String(128), nullable=True),
    sa.Column("error_code", sa.String(32), nullable=True),
    sa.Column("error_reason", sa.String(500), nullable=True),
    sa.Column("event_seq", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("created_at", When, nullable=False),
    sa.Column("dispatched_at", When, nullable=True),
    sa.Column("started_at", When, nullable=True),
    sa.Column("heartbeat_at", When, nullable=True),
    sa.Column("finished_at", When, nullable=True),
    # the per-request webhook: {"url", "events"}; tenants delivers it
    sa.Column("callback", sa.JSON(), nullable=True),
    # when the last job.progressed went out for it (at most one per few seconds)
    sa.Column("callback_progress_at", When, nullable=True),
    # the W3C traceparent of the request that queued it: the worker's job span is its child
    sa.Column("traceparent", sa.String(55), nullable=True),
    sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_jobs_tenant_idempotency"),
    sa.Index("ix_jobs_status_created_at", "status", "created_at"),
    sa.Index("ix_jobs_tenant_id_created_at", "tenant_id", "created_at"),
)

job_events = sa.Table(
    "job_events",
    metadata,
    sa.Column("job_id", Id, primary_key=True),
    sa.Column("seq", sa.Integer(), primary_key=True),
    sa.Column("tenant_id", Id, nullable=False),
    # queued | started | completed | failed | cancelled
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("data", sa.JSON(), nullable=False),
    sa.Column("created_at", When, nullable=False),
)

images = sa.Table(
    "images",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("tenant_id", Id, nullable=False),
    sa.Column("job_id", Id, nullable=False),
    sa.Column("index", sa.Integer(), nullable=False),
    sa.Column("user_id", Id, nullable=True),
    sa.Column("api_key_id", Id, nullable=True),
    sa.Column("prompt", sa.Text(), nullable=False),
    sa.Column("negative_prompt", sa.Text(), nullable=False),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("width", sa.Integer(), nullable=False),
    sa.Column("height", sa.Integer(), nullable=False),
    sa.Column("seed", sa.BigInteger(), nullable=False),
    sa.Column("steps", sa.Integer(), nullable=False),
    sa.Column("cfg_scale", sa.Float(), nullable=False),
    sa.Column("scheduler", sa.String(32), nullable=False),
    sa.Column("png_key", sa.String(1024), nullable=False),
    sa.Column("thumbnail_key", sa.String(1024), nullable=False),
    sa.Column("size_bytes", sa.Integer(), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("created_at", When, nullable=False),
    sa.Index("ix_images_tenant_id_created_at", "tenant_id", "created_at"),
    sa.Index("ix_images_job_id", "job_id"),
)

entitlements = sa.Table(
    "entitlements",
    metadata,
    sa.Column("tenant_id", Id, primary_key=True),
    sa.Column("plan", sa.String(32), nullable=False),
    sa.Column("monthly_credits", sa.Integer(), nullable=False),
    sa.Column("max_concurrent_jobs", sa.Integer(), nullable=False),
    sa.Column("max_images_per_job", sa.Integer(), nullable=False),
    sa.Column("max_width", sa.Integer(), nullable=False),
    sa.Column("max_height", sa.Integer(), nullable=False),
    sa.Column("allowed_models", sa.JSON(), nullable=False),
    sa.Column("priority_weight", sa.Integer(), nullable=False),
    # the balance as render knows it, reservations not yet taken off
    sa.Column("credits_available", sa.Integer(), nullable=False),
    sa.Column("credits_reserved", sa.Integer(), nullable=False, server_default="0"),
    # credits render gave on tenant.created that billing's own plan_start grant has not yet
    # matched: that grant is absorbed up to this amount, so the free credits count once
    sa.Column("seed_credits", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("billing_updated_at", When, nullable=True),
    sa.Column("updated_at", When, nullable=False),
    sa.CheckConstraint("credits_reserved >= 0", name="ck_entitlements_reserved"),
    sa.CheckConstraint(
        "credits_available >= credits_reserved", name="ck_entitlements_no_overspend"
    ),
)

#: the team settings render enforces, as tenants' `tenant.settings_changed` last said them;
#: no row: the defaults (a member deletes only their own images)
team_settings = sa.Table(
    "team_settings",
    metadata,
    sa.Column("tenant_id", Id, primary_key=True),
    # own | any
    sa.Column("member_image_deletion", sa.String(8), nullable=False),
    sa.Column("changed_at", When, nullable=False),
)

scheduler = sa.Table(
    "scheduler",
    metadata,
    sa.Column("tenant_id", Id, primary_key=True),
    sa.Column("pass", sa.Float(), nullable=False),
)

#: the GPU workers as their heartbeats describe them: how many image rows each one's
#: engine runs at once, and when it was last heard from (the dispatcher counts the live
#: ones' free rows; docs/render.md, "Fair scheduling")
workers = sa.Table(
    "workers",
    metadata,
    sa.Column("worker_id", sa.String(128), primary_key=True),
    sa.Column("capacity", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("seen_at", When, nullable=False),
    sa.Index("ix_workers_seen_at", "seen_at"),
)
