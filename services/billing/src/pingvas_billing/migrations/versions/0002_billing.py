"""Billing: customers, subscriptions, webhook events, the credit ledger and its balances,
payments (docs/billing.md, "Tables"; the same definitions as adapters/db.py).

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
        "customers",
        sa.Column("tenant_id", Id, primary_key=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("ls_customer_id", sa.String(32), nullable=True, unique=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
    )

    op.create_table(
        "subscriptions",
        sa.Column("id", Id, primary_key=True),
        sa.Column("tenant_id", Id, nullable=False, unique=True),
        sa.Column("plan", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("interval", sa.String(8), nullable=True),
        sa.Column("ls_subscription_id", sa.String(32), nullable=True, unique=True),
        sa.Column("ls_customer_id", sa.String(32), nullable=True),
        sa.Column("ls_order_id", sa.String(32), nullable=True),
        sa.Column("ls_product_id", sa.String(32), nullable=True),
        sa.Column("ls_variant_id", sa.String(32), nullable=True),
        sa.Column("test_mode", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("current_period_start", When, nullable=False),
        sa.Column("current_period_end", When, nullable=False),
        sa.Column("trial_ends_at", When, nullable=True),
        sa.Column("ends_at", When, nullable=True),
        sa.Column("past_due_since", When, nullable=True),
        sa.Column("entitlements_reduced", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("customer_portal_url", sa.String(2048), nullable=True),
        sa.Column("update_payment_method_url", sa.String(2048), nullable=True),
        sa.Column("ls_updated_at", When, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
    )

    op.create_table(
        "webhook_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("body_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("event_name", sa.String(64), nullable=False),
        sa.Column("test_mode", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", Id, nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", When, nullable=False),
        sa.Column("processed_at", When, nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_webhook_events_pending", "webhook_events", ["processed_at", "id"])

    op.create_table(
        "ledger",
        sa.Column("id", Id, primary_key=True),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("reference", sa.String(128), nullable=False),
        sa.Column("job_id", Id, nullable=True),
        sa.Column("user_id", Id, nullable=True),
        sa.Column("api_key_id", Id, nullable=True),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("author", sa.String(128), nullable=True),
        sa.Column("expires_at", When, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.UniqueConstraint("kind", "reference", name="uq_ledger_kind_reference"),
    )
    op.create_index("ix_ledger_tenant_id_created_at", "ledger", ["tenant_id", "created_at"])

    op.create_table(
        "balances",
        sa.Column("tenant_id", Id, primary_key=True),
        sa.Column("balance", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("reserved", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_grant_at", When, nullable=True),
        sa.Column("updated_at", When, nullable=False),
        sa.CheckConstraint("reserved >= 0", name="ck_balances_reserved"),
    )

    op.create_table(
        "payments",
        sa.Column("id", Id, primary_key=True),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("reference", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("plan", sa.String(32), nullable=True),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("receipt_url", sa.String(2048), nullable=True),
        sa.Column("test_mode", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
    )
    op.create_index("ix_payments_tenant_id_created_at", "payments", ["tenant_id", "created_at"])


def downgrade() -> None:
    for table in ("payments", "balances", "ledger", "webhook_events", "subscriptions", "customers"):
        op.drop_table(table)
