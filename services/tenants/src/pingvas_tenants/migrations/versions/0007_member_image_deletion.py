"""The team setting of who may delete another member's images (`own`: only admins and
owners, the default; `any`: every member).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "tenants",
        sa.Column("member_image_deletion", sa.String(8), nullable=False, server_default="own"),
    )


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("member_image_deletion")
