"""database owners and sharing; user groups

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 14:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("databases") as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.String(length=36), nullable=True))
        # Databases from before owners existed stay visible to everyone, as they were.
        batch_op.add_column(
            sa.Column("visibility", sa.String(length=16), nullable=False, server_default="public")
        )
        batch_op.add_column(sa.Column("share_group", sa.String(length=64), nullable=True))
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("groups", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("groups")
    with op.batch_alter_table("databases") as batch_op:
        batch_op.drop_column("share_group")
        batch_op.drop_column("visibility")
        batch_op.drop_column("owner_id")
