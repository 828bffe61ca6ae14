"""job queries: a job's FASTA in a table of its own, out of the `jobs` row

SQLite rewrites a row whole, overflow pages and all, whenever an update changes its size, so
every phase, step or timestamp a job's row took wrote the job's FASTA to the WAL again (75 KB
for 50 16S queries, megabytes for 10,000), and the checkpoints copied it back.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 08:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_queries",
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("fasta", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id"),
    )
    op.execute("INSERT INTO job_queries (job_id, fasta) SELECT id, query_fasta FROM jobs")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("query_fasta")


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("query_fasta", sa.Text(), nullable=False, server_default=""))
    op.execute(
        "UPDATE jobs SET query_fasta = "
        "(SELECT fasta FROM job_queries WHERE job_queries.job_id = jobs.id) "
        "WHERE id IN (SELECT job_id FROM job_queries)"
    )
    op.drop_table("job_queries")
