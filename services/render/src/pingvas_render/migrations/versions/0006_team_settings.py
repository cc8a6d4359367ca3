"""Render: the team settings it enforces (who may delete another member's images), as
tenants' `tenant.settings_changed` last said them.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "team_settings",
        sa.Column("tenant_id", sa.String(36), primary_key=True),
        sa.Column("member_image_deletion", sa.String(8), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("team_settings")
