"""Hash chain on audit records, purge anchors, admin access log.

Revision ID: 0002
Revises: 0001

Existing records are chained in ``seq`` order during the upgrade, so that ``gardefou audit verify``
covers them too (from the migration on, not before: what was changed earlier cannot be detected).
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    with op.batch_alter_table("audit_records") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(64)))
        batch.add_column(sa.Column("record_hash", sa.String(64)))
        batch.add_column(sa.Column("outcome_hash", sa.String(64)))
    op.create_table(
        "audit_anchors",
        sa.Column("seq", seq, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("through_seq", sa.BigInteger, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("purged", sa.Integer, nullable=False),
        sa.Column("older_than", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
    )
    op.create_table(
        "admin_access_log",
        sa.Column("seq", seq, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(128)),
        sa.Column("role", sa.String(16)),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("client_addr", sa.String(64)),
    )
    op.create_index("ix_admin_access_log_ts", "admin_access_log", ["ts"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_CHAIN_HEAD)
    _chain_existing()


# Take the chain lock, then read the last link: one round trip instead of two on the hot path. The read
# must run AFTER the lock is granted with a fresh snapshot (READ COMMITTED): a VOLATILE PL/pgSQL function
# takes a new snapshot for each query it runs, so it sees the record committed by the previous holder.
PG_CHAIN_HEAD = """
CREATE OR REPLACE FUNCTION gardefou_chain_head(lock_key bigint)
RETURNS TABLE (head_seq bigint, head_hash varchar) AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    RETURN QUERY SELECT r.seq::bigint, r.record_hash::varchar FROM audit_records r ORDER BY r.seq DESC LIMIT 1;
END
$$ LANGUAGE plpgsql VOLATILE
"""


def _chain_existing() -> None:
    from gateway.audit import chain
    from gateway.audit.schema import audit_records

    conn = op.get_bind()
    # The columns as they were at this revision (later revisions add columns to ``audit_records``).
    existing = {c["name"] for c in sa.inspect(conn).get_columns("audit_records")}
    columns = [c for c in audit_records.c if c.name in existing]
    prev, last = chain.GENESIS, 0
    while True:
        rows = conn.execute(
            sa.select(*columns).where(audit_records.c.seq > last).order_by(audit_records.c.seq).limit(500)
        ).mappings().all()
        if not rows:
            break
        for row in rows:
            rec = dict(row)
            rec_hash = chain.record_hash(prev, rec)
            conn.execute(
                sa.update(audit_records)
                .where(audit_records.c.seq == rec["seq"])
                .values(prev_hash=prev, record_hash=rec_hash, outcome_hash=chain.outcome_hash(rec_hash, rec))
            )
            prev, last = rec_hash, rec["seq"]


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS gardefou_chain_head(bigint)")
    op.drop_table("admin_access_log")
    op.drop_table("audit_anchors")
    with op.batch_alter_table("audit_records") as batch:
        batch.drop_column("outcome_hash")
        batch.drop_column("record_hash")
        batch.drop_column("prev_hash")
