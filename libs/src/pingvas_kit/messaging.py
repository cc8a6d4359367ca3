"""The outbox and inbox tables every service carries in its own schema."""

from __future__ import annotations

import sqlalchemy as sa

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def outbox_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "outbox",
        metadata,
        # ever-growing position: publication order, and what the relay pages by
        sa.Column("position", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(128), nullable=False, unique=True),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Index(
            "ix_outbox_pending",
            "position",
            postgresql_where=sa.text("published_at IS NULL"),
            sqlite_where=sa.text("published_at IS NULL"),
        ),
        sa.Index("ix_outbox_published_at", "published_at"),
    )


def inbox_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "inbox",
        metadata,
        sa.Column("consumer", sa.String(64), primary_key=True),
        sa.Column("event_id", sa.String(128), primary_key=True),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )


def messaging_metadata() -> tuple[sa.MetaData, sa.Table, sa.Table]:
    md = sa.MetaData()
    return md, outbox_table(md), inbox_table(md)
