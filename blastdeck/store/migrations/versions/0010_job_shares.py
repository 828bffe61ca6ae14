"""job shares: read-only links to a job

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 17:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_shares",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )
    with op.batch_alter_table("job_shares", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_shares_job_id"), ["job_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("job_shares", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_shares_job_id"))
    op.drop_table("job_shares")
