"""HSPs move to the job's columnar index; counts say HSPs and hits apart

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 14:00:00

A row of the old "hits" table was always one HSP (one aligned segment); a hit is all the HSPs
of one (query, subject) pair. Jobs now index their HSPs in columnar files beside their results
(results/hsp_index.py); the rows of jobs indexed before stay, read-only, in "legacy_hsps" (one
index kept: by job and query), from which such a job's index is built when it is first read.
jobs.hits_total (which counted HSPs) becomes hsps_total, and hits_total now counts hits.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_hits_job_evalue", table_name="hits")
    op.drop_index("ix_hits_job_bitscore", table_name="hits")
    op.drop_index("ix_hits_job_query", table_name="hits")
    op.rename_table("hits", "legacy_hsps")
    op.create_index("ix_legacy_hsps_job_query", "legacy_hsps", ["job_id", "query_index"])
    # Two steps: SQLite's batch mode cannot rename a column and reuse its name in one copy.
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.alter_column("hits_total", new_column_name="hsps_total")
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column("hits_total", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE jobs SET hits_total = (SELECT COUNT(*) FROM (SELECT DISTINCT query_index,"
        " subject_id FROM legacy_hsps WHERE legacy_hsps.job_id = jobs.id) AS pairs)"
        " WHERE phase = 'completed'"
    )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_column("hits_total")
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.alter_column("hsps_total", new_column_name="hits_total")
    op.drop_index("ix_legacy_hsps_job_query", table_name="legacy_hsps")
    op.rename_table("legacy_hsps", "hits")
    op.create_index("ix_hits_job_evalue", "hits", ["job_id", "evalue"])
    op.create_index("ix_hits_job_bitscore", "hits", ["job_id", "bitscore"])
    op.create_index("ix_hits_job_query", "hits", ["job_id", "query_index"])
