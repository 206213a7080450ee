"""Initial audit table.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "audit_records",
        sa.Column("seq", seq, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_id", sa.String(128)),
        sa.Column("department", sa.String(128)),
        sa.Column("client_addr", sa.String(64)),
        sa.Column("api", sa.String(16), nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(64)),
        sa.Column("model", sa.String(128)),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("forwarded", sa.Boolean, nullable=False),
        sa.Column("rule_ids", sa.JSON, nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("categories", sa.String(256), nullable=False),
        sa.Column("finding_types", sa.String(1024), nullable=False),
        sa.Column("findings", sa.JSON, nullable=False),
        sa.Column("prompt_parts", sa.Integer, nullable=False),
        sa.Column("prompt_chars", sa.Integer, nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("upstream_status", sa.Integer),
        sa.Column("upstream_error", sa.String(64)),
        sa.Column("inspect_ms", sa.Float),
        sa.Column("upstream_ms", sa.Float),
        sa.Column("total_ms", sa.Float),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_audit_records_ts", "audit_records", ["ts"])
    op.create_index("ix_audit_records_service_id", "audit_records", ["service_id"])
    op.create_index("ix_audit_records_decision", "audit_records", ["decision"])


def downgrade() -> None:
    op.drop_table("audit_records")
