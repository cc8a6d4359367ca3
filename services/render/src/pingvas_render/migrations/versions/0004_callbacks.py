"""Render: a job's per-request webhook (POST /api/v1/generations `webhook`), and when its
last progress event went out.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("jobs", sa.Column("callback", sa.JSON(), nullable=True))
    op.add_column("jobs", sa.Column("callback_progress_at", When, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("callback_progress_at")
        batch.drop_column("callback")
