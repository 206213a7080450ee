"""Hash chain on the admin access log.

Revision ID: 0005
Revises: 0004

Each access-log row carries ``row_hash = SHA-256(prev_hash || canonical(row))``; ``gardefou audit
verify`` walks it like the records' chain, so a deleted or edited read of the audit data is detected.
Rows written before this revision are chained during the upgrade.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("admin_access_log") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(64)))
        batch.add_column(sa.Column("row_hash", sa.String(64)))
    from gateway.audit import chain

    conn = op.get_bind()
    log = sa.table("admin_access_log", *(sa.column(c) for c in chain.ACCESS_FIELDS), sa.column("seq"),
                   sa.column("prev_hash"), sa.column("row_hash"))
    prev = chain.GENESIS
    for row in conn.execute(sa.select(log).order_by(log.c.seq)).mappings().all():
        row_hash = chain.access_hash(prev, dict(row))
        conn.execute(sa.update(log).where(log.c.seq == row["seq"]).values(prev_hash=prev, row_hash=row_hash))
        prev = row_hash


def downgrade() -> None:
    with op.batch_alter_table("admin_access_log") as batch:
        batch.drop_column("row_hash")
        batch.drop_column("prev_hash")
