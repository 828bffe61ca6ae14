"""cluster pauses: an admin pauses a cluster or one namespace of it

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 23:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_pauses",
        sa.Column("cluster", sa.String(length=64), nullable=False),
        sa.Column("namespace", sa.String(length=63), nullable=False),
        sa.Column("paused_by", sa.String(length=64), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cluster", "namespace"),
    )


def downgrade() -> None:
    op.drop_table("cluster_pauses")
