"""The mail service's tables, in its own schema (docs/mail.md, "Tables"; the migrations in
migrations/versions/ create them). SQLite hands back naive datetimes: they are UTC
(`pingvas_kit.db.aware`)."""

import sqlalchemy as sa

from pingvas_kit.messaging import BigId, inbox_table, outbox_table

metadata = sa.MetaData()

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

Id = sa.String(36)
When = sa.DateTime(timezone=True)

# who can be mailed: a projection of tenants' events (user.registered, tenant.created,
# member.joined/removed)
recipients = sa.Table(
    "recipients",
    metadata,
    sa.Column("user_id", Id, primary_key=True),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("name", sa.String(100), nullable=True),
    sa.Column("locale", sa.String(8), nullable=False, server_default="en"),
    sa.Column("updated_at", When, nullable=False),
    sa.Index("ix_recipients_email", "email"),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column("tenant_id", Id, primary_key=True),
    sa.Column("user_id", Id, primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Index("ix_memberships_user_id", "user_id"),
)

# the team's name, for the mail about it (billing's mails): tenant.created, member.invited
tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("tenant_id", Id, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("updated_at", When, nullable=False),
)

# the tenant's plan, from billing.subscription.* (newsletter audiences by plan)
tenant_plans = sa.Table(
    "tenant_plans",
    metadata,
    sa.Column("tenant_id", Id, primary_key=True),
    sa.Column("plan", sa.String(32), nullable=False),
    sa.Column("updated_at", When, nullable=False),
)

# what each person wants beyond transactional mail (which always goes out)
preferences = sa.Table(
    "preferences",
    metadata,
    sa.Column("user_id", Id, primary_key=True),
    # "mail me when a batch finishes": off until the person turns it on
    sa.Column("job_completed", sa.Boolean(), nullable=False, server_default=sa.false()),
    # credits running out, and similar notices about the team's usage
    sa.Column("usage_notices", sa.Boolean(), nullable=False, server_default=sa.true()),
    # the newsletter: what the person chose at sign-up, then on the settings page
    sa.Column("newsletter", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("updated_at", When, nullable=False),
)

# every message mail decided to send (or not): one per event, recipient and template
messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("tenant_id", Id, nullable=True),
    sa.Column("user_id", Id, nullable=True),
    sa.Column("to_email", sa.String(254), nullable=False),
    sa.Column("locale", sa.String(8), nullable=False),
    sa.Column("template", sa.String(64), nullable=False),
    # transactional | notification | marketing
    sa.Column("category", sa.String(16), nullable=False),
    # the event (or campaign) that caused it: with to_email and template, the dedupe key
    sa.Column("causation_id", sa.String(64), nullable=False),
    sa.Column("campaign_id", Id, nullable=True),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("html", sa.Text(), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    # pending | sending | sent | suppressed | unsubscribed | failed | unknown
    # (unknown: the sender died between handing it to SES and recording it; never resent)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("provider_message_id", sa.String(128), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_attempt_at", When, nullable=True),
    sa.Column("claimed_at", When, nullable=True),
    sa.Column("sent_at", When, nullable=True),
    sa.Column("error", sa.String(500), nullable=True),
    sa.Column("created_at", When, nullable=False),
    sa.UniqueConstraint("causation_id", "to_email", "template", name="uq_messages_once"),
    sa.Index("ix_messages_status_next", "status", "next_attempt_at"),
    sa.Index("ix_messages_tenant_id", "tenant_id"),
    sa.Index("ix_messages_provider_message_id", "provider_message_id"),
)

# addresses never to mail again (hard bounces, complaints, an operator's hand)
suppressions = sa.Table(
    "suppressions",
    metadata,
    sa.Column("email", sa.String(254), primary_key=True),
    sa.Column("reason", sa.String(16), nullable=False),  # bounce | complaint | manual
    sa.Column("detail", sa.String(500), nullable=True),
    sa.Column("created_at", When, nullable=False),
)

campaigns = sa.Table(
    "campaigns",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("template", sa.String(64), nullable=False),
    # {"en": "...", "ko": "..."}
    sa.Column("subjects", sa.JSON(), nullable=False),
    # {"plans": ["pro", "team"]} or {} for every opted-in person
    sa.Column("audience", sa.JSON(), nullable=False),
    sa.Column("rate_per_s", sa.Float(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # draft | sending | done
    sa.Column("total", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("created_by", sa.String(128), nullable=True),
    sa.Column("created_at", When, nullable=False),
    sa.Column("started_at", When, nullable=True),
    sa.Column("finished_at", When, nullable=True),
)

# the campaign's audience, fixed when sending starts; a resumed send takes the pending ones
campaign_recipients = sa.Table(
    "campaign_recipients",
    metadata,
    sa.Column("campaign_id", Id, primary_key=True),
    sa.Column("user_id", Id, primary_key=True),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("locale", sa.String(8), nullable=False),
    # pending | queued (a message row exists) | skipped
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("message_id", Id, nullable=True),
    sa.Column("position", BigId, nullable=False),
    sa.Index("ix_campaign_recipients_pending", "campaign_id", "status", "position"),
)
