"""The billing service's tables, in its own schema (docs/billing.md, "Tables"; the
migrations in migrations/versions/ create them). SQLite hands back naive datetimes: they
are UTC (`pingvas_kit.db.aware`)."""

import sqlalchemy as sa

from pingvas_kit.messaging import BigId, inbox_table, outbox_table

metadata = sa.MetaData()

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

Id = sa.String(36)
When = sa.DateTime(timezone=True)

# one row per tenant: its Lemon Squeezy customer, once it has one
customers = sa.Table(
    "customers",
    metadata,
    sa.Column("tenant_id", Id, primary_key=True),
    sa.Column("email", sa.String(254), nullable=True),
    sa.Column("ls_customer_id", sa.String(32), nullable=True, unique=True),
    sa.Column("created_at", When, nullable=False),
    sa.Column("updated_at", When, nullable=False),
)

# the tenant's subscription: one current row per tenant (the free plan has no Lemon
# Squeezy id); paid ones are found by their Lemon Squeezy id
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("tenant_id", Id, nullable=False, unique=True),
    sa.Column("plan", sa.String(32), nullable=False),
    # on_trial | active | paused | past_due | unpaid | cancelled | expired
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("interval", sa.String(8), nullable=True),  # month | year; null for free
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
    # entitlements cut to the free plan's after the grace period of a failed payment
    sa.Column("entitlements_reduced", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("customer_portal_url", sa.String(2048), nullable=True),
    sa.Column("update_payment_method_url", sa.String(2048), nullable=True),
    # the provider's updated_at of the state we hold: an older event never overwrites it
    sa.Column("ls_updated_at", When, nullable=True),
    sa.Column("created_at", When, nullable=False),
    sa.Column("updated_at", When, nullable=False),
)

# every webhook delivery, recorded before it is answered; processed afterwards
webhook_events = sa.Table(
    "webhook_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    # SHA-256 of the raw body: the same delivery twice is one row
    sa.Column("body_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("event_name", sa.String(64), nullable=False),
    sa.Column("test_mode", sa.Boolean(), nullable=False),
    sa.Column("tenant_id", Id, nullable=True),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("received_at", When, nullable=False),
    sa.Column("processed_at", When, nullable=True),
    # applied | ignored_stale | ignored_test_mode | ignored_unknown | failed
    sa.Column("outcome", sa.String(32), nullable=True),
    sa.Column("error", sa.String(500), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Index("ix_webhook_events_pending", "processed_at", "id"),
)

# the credit ledger: append-only; a tenant's balance is derived from it
ledger = sa.Table(
    "ledger",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("tenant_id", Id, nullable=False),
    # grant | reserve | settle | release | refund | expire | adjustment
    sa.Column("kind", sa.String(16), nullable=False),
    # signed effect on the balance (grant +, settle -, expire -, refund +, adjustment ±);
    # 0 for reserve and release, which move `reserved` only
    sa.Column("credits", sa.Integer(), nullable=False),
    # signed effect on the reserved credits (reserve +, settle and release -)
    sa.Column("reserved", sa.Integer(), nullable=False, server_default="0"),
    # what the entry is about, unique per kind: "job:<id>", "renewal:<sub>:<period>", ...
    sa.Column("reference", sa.String(128), nullable=False),
    sa.Column("job_id", Id, nullable=True),
    sa.Column("user_id", Id, nullable=True),
    sa.Column("api_key_id", Id, nullable=True),
    sa.Column("reason", sa.String(200), nullable=True),
    sa.Column("author", sa.String(128), nullable=True),  # adjustments: who made it
    sa.Column("expires_at", When, nullable=True),  # grants that lapse
    sa.Column("created_at", When, nullable=False),
    sa.UniqueConstraint("kind", "reference", name="uq_ledger_kind_reference"),
    sa.Index("ix_ledger_tenant_id_created_at", "tenant_id", "created_at"),
)

# the ledger's running totals per tenant, updated in the same transaction as every entry
balances = sa.Table(
    "balances",
    metadata,
    sa.Column("tenant_id", Id, primary_key=True),
    sa.Column("balance", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("reserved", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_grant_at", When, nullable=True),
    sa.Column("updated_at", When, nullable=False),
    sa.CheckConstraint("reserved >= 0", name="ck_balances_reserved"),
)

# orders and subscription invoices: what was paid (or failed, or was refunded)
payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("tenant_id", Id, nullable=False),
    # order:<ls id> | invoice:<ls id>
    sa.Column("reference", sa.String(64), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),  # subscription | credit_pack
    sa.Column("status", sa.String(16), nullable=False),  # paid | failed | refunded
    sa.Column("plan", sa.String(32), nullable=True),
    sa.Column("amount_minor", sa.Integer(), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("receipt_url", sa.String(2048), nullable=True),
    sa.Column("test_mode", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("created_at", When, nullable=False),
    sa.Column("updated_at", When, nullable=False),
    sa.Index("ix_payments_tenant_id_created_at", "tenant_id", "created_at"),
)
