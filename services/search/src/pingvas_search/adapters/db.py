"""The search service's tables, in its own schema (docs/search.md, "Tables").

Nothing here is authoritative: the image index lives in the engine, and these tables
hold what the consumers need to apply events in any order (image and tenant tombstones)
and the operators' tenant directory, all rebuilt from events."""

from pathlib import Path

import sqlalchemy as sa

from pingvas_kit.messaging import inbox_table, outbox_table

#: the Alembic scripts of these tables
MIGRATIONS = Path(__file__).parent.parent / "migrations"

metadata = sa.MetaData()

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

TS = sa.DateTime(timezone=True)

#: one row per image search has heard of: "live" once created, "deleted" for good once
#: deleted (a tombstone: a late or redelivered `image.created` never brings it back)
image_state = sa.Table(
    "image_state",
    metadata,
    sa.Column("image_id", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # live | deleted
    sa.Column("updated_at", TS, nullable=False),
    sa.Index("ix_image_state_tenant", "tenant_id"),
    sa.Index("ix_image_state_deleted", "state", "updated_at"),
)

#: the operators' tenant directory: tenants.* and billing.subscription.* projected
tenant_directory = sa.Table(
    "tenant_directory",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200)),
    sa.Column("slug", sa.String(100)),
    sa.Column("owner_user_id", sa.String(64)),
    sa.Column("owner_email", sa.String(320)),
    sa.Column("locale", sa.String(16)),
    sa.Column("plan", sa.String(32), nullable=False, server_default="free"),
    #: Lemon Squeezy's subscription status; null on the free plan without a subscription
    sa.Column("subscription_status", sa.String(32)),
    #: "active" or "deleted"
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    #: billing's updated_at of the state shown (an older event never overwrites a newer one)
    sa.Column("billing_updated_at", TS),
    sa.Column("created_at", TS),
    sa.Column("deleted_at", TS),
    #: lower-cased "name slug email" for the operators' substring search
    sa.Column("search_text", sa.Text, nullable=False, server_default=""),
    sa.Column("updated_at", TS, nullable=False),
    sa.Index("ix_tenant_directory_created", "created_at", "tenant_id"),
)
