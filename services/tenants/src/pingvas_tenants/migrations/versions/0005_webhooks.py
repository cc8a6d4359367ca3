"""Partner webhooks: endpoints, the team's callback secret, deliveries and their attempts
(the delivery log); the time of the plan shown on a tenant.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.String(36)
When = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("tenants", sa.Column("plan_updated_at", When, nullable=True))
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", Id, primary_key=True),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(500), nullable=False, server_default=""),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("disabled_reason", sa.String(16), nullable=True),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("previous_secret", sa.String(128), nullable=True),
        sa.Column("previous_secret_expires_at", When, nullable=True),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.Column("last_attempt_at", When, nullable=True),
        sa.Column("last_success_at", When, nullable=True),
        sa.Column("failing_since", When, nullable=True),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_webhook_endpoints_tenant_id", "webhook_endpoints", ["tenant_id"])
    op.create_table(
        "webhook_callback_secrets",
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("previous_secret", sa.String(128), nullable=True),
        sa.Column("previous_secret_expires_at", When, nullable=True),
        sa.Column("created_at", When, nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("endpoint_id", Id, nullable=True),
        sa.Column("callback_url", sa.String(2048), nullable=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),  # pending | delivered | failed
        sa.Column("attempt_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", When, nullable=True),
        sa.Column("locked_until", When, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("delivered_at", When, nullable=True),
        sa.Column("last_status_code", sa.Integer, nullable=True),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_webhook_deliveries_endpoint", "webhook_deliveries", ["endpoint_id", "created_at"]
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.String(40), nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("attempted_at", When, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("latency_ms", sa.Integer, nullable=False),
        sa.Column("error", sa.String(200), nullable=True),
        sa.Column("response_body", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_webhook_attempts_delivery", "webhook_attempts", ["delivery_id", "number"])


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_callback_secrets")
    op.drop_table("webhook_endpoints")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("plan_updated_at")
