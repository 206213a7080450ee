"""Browser path: the warnings acknowledged with « Continuer », kept across restarts and shared by the
gateway processes of one audit database.

Revision ID: 0010
Revises: 0006

One row per client and service: who (``gateway.proxy.acks.client_key``: a hash of the proxy
credential, or the workstation's address), the service, and until when the acknowledgement holds.
This is state, not evidence: the acknowledgement itself is an audit record (``warn.acknowledged``,
in the hash chain); rows here are replaced by a later acknowledgement and deleted once expired.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "browser_acks",
        sa.Column("client", sa.String(128), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client", "service_id"),
    )
    op.create_index("ix_browser_acks_expires_at", "browser_acks", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_browser_acks_expires_at", table_name="browser_acks")
    op.drop_table("browser_acks")
