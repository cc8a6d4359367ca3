"""At most one open invitation per team and address: inviting an address again renews its
open invitation. Older duplicates (from before) are revoked, the newest stays.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OPEN = "accepted_at IS NULL AND revoked_at IS NULL"


def upgrade() -> None:
    op.execute(
        sa.text(
            f"""
            UPDATE invitations SET revoked_at = CURRENT_TIMESTAMP
            WHERE {OPEN} AND EXISTS (
                SELECT 1 FROM invitations AS newer
                WHERE newer.tenant_id = invitations.tenant_id
                  AND newer.email = invitations.email
                  AND newer.accepted_at IS NULL AND newer.revoked_at IS NULL
                  AND (newer.created_at > invitations.created_at
                       OR (newer.created_at = invitations.created_at
                           AND newer.id > invitations.id))
            )
            """
        )
    )
    op.create_index(
        "ux_invitations_open_email",
        "invitations",
        ["tenant_id", "email"],
        unique=True,
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("ux_invitations_open_email", table_name="invitations")
