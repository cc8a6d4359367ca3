"""The render service's tables, in its own schema (domain tables arrive with its features)."""

import sqlalchemy as sa

from pingvas_kit.messaging import inbox_table, outbox_table

metadata = sa.MetaData()

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
