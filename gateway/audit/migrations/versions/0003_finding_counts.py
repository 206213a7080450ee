"""Exact finding counts per type beside a bounded list of findings; the readiness probe's row.

Revision ID: 0003
Revises: 0002

A request can carry hundreds of thousands of findings (a 10 MB paste of names): the record keeps
the first ``MAX_FINDINGS`` of them and, in ``finding_counts``, the exact count per type.
``readiness_probe`` holds one row that ``/readyz`` rewrites: a real write, so a locked, read-only or
full database makes the gateway not ready.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_records") as batch:
        batch.add_column(sa.Column("finding_counts", sa.JSON))
    op.create_table(
        "readiness_probe",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("readiness_probe")
    with op.batch_alter_table("audit_records") as batch:
        batch.drop_column("finding_counts")
