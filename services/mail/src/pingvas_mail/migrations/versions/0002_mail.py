"""Mail: the directory (recipients, memberships, tenant plans, preferences), messages,
suppressions, campaigns and their audiences (docs/mail.md, "Tables"; the same definitions
as adapters/db.py).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.String(36)
When = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "recipients",
        sa.Column("user_id", Id, primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("name", sa.String(100), nullable=True),
        sa.Column("locale", sa.String(8), nullable=False, server_default="en"),
        sa.Column("updated_at", When, nullable=False),
    )
    op.create_index("ix_recipients_email", "recipients", ["email"])

    op.create_table(
        "memberships",
        sa.Column("tenant_id", Id, primary_key=True),
        sa.Column("user_id", Id, primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
    )
    op.create_index("ix_memberships_user_id", "memberships", ["user_id"])

    op.create_table(
        "tenants",
        sa.Column("tenant_id", Id, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("updated_at", When, nullable=False),
    )

    op.create_table(
        "tenant_plans",
        sa.Column("tenant_id", Id, primary_key=True),
        sa.Column("plan", sa.String(32), nullable=False),
        sa.Column("updated_at", When, nullable=False),
    )

    op.create_table(
        "preferences",
        sa.Column("user_id", Id, primary_key=True),
        sa.Column("job_completed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("usage_notices", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("newsletter", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("updated_at", When, nullable=False),
    )

    op.create_table(
        "messages",
        sa.Column("id", Id, primary_key=True),
        sa.Column("tenant_id", Id, nullable=True),
        sa.Column("user_id", Id, nullable=True),
        sa.Column("to_email", sa.String(254), nullable=False),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("causation_id", sa.String(64), nullable=False),
        sa.Column("campaign_id", Id, nullable=True),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("provider_message_id", sa.String(128), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", When, nullable=True),
        sa.Column("claimed_at", When, nullable=True),
        sa.Column("sent_at", When, nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.UniqueConstraint("causation_id", "to_email", "template", name="uq_messages_once"),
    )
    op.create_index("ix_messages_status_next", "messages", ["status", "next_attempt_at"])
    op.create_index("ix_messages_tenant_id", "messages", ["tenant_id"])
    op.create_index("ix_messages_provider_message_id", "messages", ["provider_message_id"])

    op.create_table(
        "suppressions",
        sa.Column("email", sa.String(254), primary_key=True),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(500), nullable=True),
        sa.Column("created_at", When, nullable=False),
    )

    op.create_table(
        "campaigns",
        sa.Column("id", Id, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("subjects", sa.JSON(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("rate_per_s", sa.Float(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_by", sa.String(128), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("started_at", When, nullable=True),
        sa.Column("finished_at", When, nullable=True),
    )

    op.create_table(
        "campaign_recipients",
        sa.Column("campaign_id", Id, primary_key=True),
        sa.Column("user_id", Id, primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message_id", Id, nullable=True),
        sa.Column("position", BigId, nullable=False),
    )
    op.create_index(
        "ix_campaign_recipients_pending",
        "campaign_recipients",
        ["campaign_id", "status", "position"],
    )


def downgrade() -> None:
    for table in (
        "campaign_recipients",
        "campaigns",
        "suppressions",
        "messages",
        "preferences",
        "tenant_plans",
        "tenants",
        "memberships",
        "recipients",
    ):
        op.drop_table(table)
