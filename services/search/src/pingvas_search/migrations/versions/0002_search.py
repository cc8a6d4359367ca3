"""Search: image tombstones and the operators' tenant directory (docs/search.md,
"Tables"; the same definitions as adapters/db.py).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "image_state",
        sa.Column("image_id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_image_state_tenant", "image_state", ["tenant_id"])
    op.create_index("ix_image_state_deleted", "image_state", ["state", "updated_at"])
    op.create_table(
        "tenant_directory",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200)),
        sa.Column("slug", sa.String(100)),
        sa.Column("owner_user_id", sa.String(64)),
        sa.Column("owner_email", sa.String(320)),
        sa.Column("locale", sa.String(16)),
        sa.Column("plan", sa.String(32), nullable=False, server_default="free"),
        sa.Column("subscription_status", sa.String(32)),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("billing_updated_at", TS),
        sa.Column("created_at", TS),
        sa.Column("deleted_at", TS),
        sa.Column("search_text", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_tenant_directory_created", "tenant_directory", ["created_at", "tenant_id"])


def downgrade() -> None:
    op.drop_table("tenant_directory")
    op.drop_table("image_state")
