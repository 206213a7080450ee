"""Keyed purge anchors.

Revision ID: 0004
Revises: 0003

An anchor says "records up to seq N were purged, the last one had hash H": without a key anyone with
write access could delete records and write such an anchor. With ``audit.fingerprint_key_env`` set,
each anchor carries an HMAC of its fields (``mac``), checked by ``gardefou audit verify``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_anchors") as batch:
        batch.add_column(sa.Column("mac", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("audit_anchors") as batch:
        batch.drop_column("mac")
