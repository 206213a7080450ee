"""Sobriety figures of a request and the charter's acceptances.

Revision ID: 0008
Revises: 0006

``prompt_messages`` and ``notice`` are fixed when the decision is taken (covered by the record hash);
the token counts and the energy / CO2e estimate are known once the answer has been relayed (outcome
fields, covered by the outcome hash). All are nullable: the hashes of existing records do not change.
``charter_acceptances``: who accepted which version of the institution's charter, when and how.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("audit_records") as batch:
        batch.add_column(sa.Column("prompt_messages", sa.Integer))
        batch.add_column(sa.Column("notice", sa.String(32)))
        batch.add_column(sa.Column("input_tokens", sa.Integer))
        batch.add_column(sa.Column("output_tokens", sa.Integer))
        batch.add_column(sa.Column("energy_wh", sa.Float))
        batch.add_column(sa.Column("gco2e_g", sa.Float))
        batch.add_column(sa.Column("impact_status", sa.String(16)))
        batch.add_column(sa.Column("impact_method", sa.String(32)))
    op.create_table(
        "charter_acceptances",
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("client_id", sa.String(128)),
        sa.Column("department", sa.String(128)),
        sa.Column("client_addr", sa.String(64)),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("audit_id", sa.String(36)),
        sa.UniqueConstraint("subject", "version", name="uq_charter_subject_version"),
    )
    op.create_index("ix_charter_acceptances_ts", "charter_acceptances", ["ts"])


def downgrade() -> None:
    op.drop_index("ix_charter_acceptances_ts", "charter_acceptances")
    op.drop_table("charter_acceptances")
    with op.batch_alter_table("audit_records") as batch:
        for name in ("impact_method", "impact_status", "gco2e_g", "energy_wh", "output_tokens", "input_tokens",
                     "notice", "prompt_messages"):
            batch.drop_column(name)
