"""databases know their organisms (taxonomy coverage); jobs keep their taxon filter

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 16:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: the database's taxids were never read (added before 0009); 0: read, none.
    with op.batch_alter_table("databases") as batch_op:
        batch_op.add_column(sa.Column("taxid_sequences", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("distinct_taxids", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("top_organisms", sa.JSON(), nullable=True))
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column("taxon_filter", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_column("taxon_filter")
    with op.batch_alter_table("databases") as batch_op:
        batch_op.drop_column("top_organisms")
        batch_op.drop_column("distinct_taxids")
        batch_op.drop_column("taxid_sequences")
