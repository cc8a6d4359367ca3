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
    sa.Column("created_at", When, nullable=False),
    sa.Column("deleted_at", When, nullable=True),
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
