"""The tenants service's tables, in its own schema (migrations/versions/ creates them)."""

import sqlalchemy as sa

from pingvas_kit.messaging import BigId, inbox_table, outbox_table

metadata = sa.MetaData()

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

Id = sa.String(36)
When = sa.DateTime(timezone=True)

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("slug", sa.String(40), nullable=False, unique=True),
    sa.Column("locale", sa.String(8), nullable=False),
    sa.Column("plan", sa.String(32), nullable=False, server_default="free"),
    # billing's time for the plan shown (its events may arrive out of order)
    sa.Column("plan_updated_at", When, nullable=True),
    sa.Column("created_at", When, nullable=False),
    sa.Column("deleted_at", When, nullable=True),
    # own | any: whether a member may delete another member's images (admins always may)
    sa.Column("member_image_deletion", sa.String(8), nullable=False, server_default="own"),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", Id, primary_key=True),
    # stored lower-cased: one account per address
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("locale", sa.String(8), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("email_verified_at", When, nullable=True),
    sa.Column("created_at", When, nullable=False),
    sa.Column("password_changed_at", When, nullable=True),
    # the platform's own staff (`operator`, granted with the pingvas-tenants CLI); null for
    # everyone else. Not a tenant role: it goes into the access token as `prl`
    sa.Column("platform_role", sa.String(16), nullable=True),
    # raised when every access token of the person must stop working at once (password
    # reset); the access token carries the value it was issued with as `uver`, and the
    # gateway refuses a token whose `uver` is lower (docs/identity.md, "Revocation")
    sa.Column("token_version", sa.Integer, nullable=False, server_default="0"),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id"), primary_key=True),
    sa.Column("user_id", Id, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", When, nullable=False),
    sa.Index("ix_memberships_user_id", "user_id"),
)

# one row per refresh token; a family (session, the access token's `sid`) is every token
# rotated from one log-in
refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("family_id", Id, nullable=False),
    sa.Column("user_id", Id, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id"), nullable=True),
    sa.Column("created_at", When, nullable=False),
    sa.Column("expires_at", When, nullable=False),
    sa.Column("used_at", When, nullable=True),
    sa.Column("revoked_at", When, nullable=True),
    sa.Index("ix_refresh_tokens_family_id", "family_id"),
    sa.Index("ix_refresh_tokens_user_id", "user_id"),
    sa.Index("ix_refresh_tokens_tenant_id", "tenant_id"),
)

# single-use links: email verification and password reset
email_tokens = sa.Table(
    "email_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", Id, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("purpose", sa.String(16), nullable=False),  # verify | reset
    sa.Column("created_at", When, nullable=False),
    sa.Column("expires_at", When, nullable=False),
    sa.Column("used_at", When, nullable=True),
    sa.Index("ix_email_tokens_user_id", "user_id"),
)

invitations = sa.Table(
    "invitations",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("invited_by", Id, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("created_at", When, nullable=False),
    sa.Column("expires_at", When, nullable=False),
    sa.Column("accepted_at", When, nullable=True),
    sa.Column("accepted_by", Id, nullable=True),
    sa.Column("revoked_at", When, nullable=True),
    sa.Index("ix_invitations_tenant_id", "tenant_id"),
    # one open invitation per address: inviting again renews it
    sa.Index(
        "ux_invitations_open_email",
        "tenant_id",
        "email",
        unique=True,
        postgresql_where=sa.text("accepted_at IS NULL AND revoked_at IS NULL"),
        sqlite_where=sa.text("accepted_at IS NULL AND revoked_at IS NULL"),
    ),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False, unique=True),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("scopes", sa.JSON(), nullable=False),
    sa.Column("created_by", Id, nullable=False),
    sa.Column("created_at", When, nullable=False),
    sa.Column("last_used_at", When, nullable=True),
    sa.Column("revoked_at", When, nullable=True),
    sa.Index("ix_api_keys_tenant_id", "tenant_id"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    # null for events no tenant owns (a failed log-in for an unknown address)
    sa.Column("tenant_id", Id, nullable=True),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("actor_id", sa.String(64), nullable=True),
    sa.Column("actor_kind", sa.String(16), nullable=True),
    sa.Column("target_type", sa.String(32), nullable=True),
    sa.Column("target_id", sa.String(64), nullable=True),
    sa.Column("ip", sa.String(64), nullable=True),
    sa.Column("details", sa.JSON(), nullable=True),
    sa.Column("created_at", When, nullable=False),
    sa.Index("ix_audit_log_tenant_id_id", "tenant_id", "id"),
)

webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("event_types", sa.JSON(), nullable=False),
    sa.Column("description", sa.String(500), nullable=False, server_default=""),
    sa.Column("enabled", sa.Boolean, nullable=False),
    # gone (the receiver answered 410) | failing (5 days of failures) | manual
    sa.Column("disabled_reason", sa.String(16), nullable=True),
    # the signing secret, needed in the clear to sign (HMAC); never returned after creation
    sa.Column("secret", sa.String(128), nullable=False),
    sa.Column("previous_secret", sa.String(128), nullable=True),
    sa.Column("previous_secret_expires_at", When, nullable=True),
    sa.Column("created_by", sa.String(64), nullable=True),
    sa.Column("created_at", When, nullable=False),
    sa.Column("updated_at", When, nullable=False),
    sa.Column("last_attempt_at", When, nullable=True),
    sa.Column("last_success_at", When, nullable=True),
    # the first failure after the last success; null while the endpoint answers
    sa.Column("failing_since", When, nullable=True),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_webhook_endpoints_tenant_id", "tenant_id"),
)

#: the team's secret for per-request callbacks (one per tenant, made on first use)
webhook_callback_secrets = sa.Table(
    "webhook_callback_secrets",
    metadata,
    sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id"), primary_key=True),
    sa.Column("secret", sa.String(128), nullable=False),
    sa.Column("previous_secret", sa.String(128), nullable=True),
    sa.Column("previous_secret_expires_at", When, nullable=True),
    sa.Column("created_at", When, nullable=False),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    # the webhook-id: derived from the endpoint (or callback) and the event
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", Id, nullable=False),
    # one of the two: an endpoint, or a per-request callback's URL
    sa.Column("endpoint_id", Id, nullable=True),
    sa.Column("callback_url", sa.String(2048), nullable=True),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("event_id", sa.String(64), nullable=False),
    # the exact bytes signed and sent, the same on every attempt
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | delivered | failed
    sa.Column("attempt_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", When, nullable=True),
    # a sender holds the delivery until then (another replica skips it)
    sa.Column("locked_until", When, nullable=True),
    sa.Column("created_at", When, nullable=False),
    sa.Column("delivered_at", When, nullable=True),
    sa.Column("last_status_code", sa.Integer, nullable=True),
    sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    sa.Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at"),
)

webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", sa.String(40), nullable=False),
    sa.Column("tenant_id", Id, nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("attempted_at", When, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("latency_ms", sa.Integer, nullable=False),
    sa.Column("error", sa.String(200), nullable=True),
    sa.Column("response_body", sa.Text, nullable=False, server_default=""),
    sa.Index("ix_webhook_attempts_delivery", "delivery_id", "number"),
)
