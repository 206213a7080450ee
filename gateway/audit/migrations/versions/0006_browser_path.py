"""Browser path: the destination host of a request, the bytes each way of a tunnelled connection.

Revision ID: 0006
Revises: 0005

``host`` is fixed when the decision is taken (covered by the record hash); ``bytes_up`` and
``bytes_down`` are known when a tunnel closes (outcome fields, covered by the outcome hash). All
three are nullable: the hashes of existing records do not change (NULL fields are left out of them).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_records") as batch:
        batch.add_column(sa.Column("host", sa.String(255)))
        batch.add_column(sa.Column("bytes_up", sa.BigInteger))
        batch.add_column(sa.Column("bytes_down", sa.BigInteger))


def downgrade() -> None:
    with op.batch_alter_table("audit_records") as batch:
        batch.drop_column("bytes_down")
        batch.drop_column("bytes_up")
        batch.drop_column("host")
