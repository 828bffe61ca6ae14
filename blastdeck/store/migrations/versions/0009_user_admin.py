"""disabled users; when a token was last used

Revision ID: 0009
Revises: 0006 (0008 once 0007 and 0008 are merged: see the note below)
Create Date: 2026-11-30 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
# Numbered 0009 because 0007 and 0008 are being written elsewhere; until they are merged this
# branch's chain is 0006 -> 0009. When they land, this becomes "0008" (alembic refuses two
# heads, so a missed edit fails loudly at the first start).
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_column("last_used_at")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("disabled_at")
