"""job usage: each job's queue wait, submit-slot wait, run time and BLAST CPU seconds on its
row, and the index GET /api/usage reads (store/usage.py)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 03:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# The columns of ix_jobs_usage, as store/models.py names them when this revision was written.
_INDEX = (
    "owner_id",
    "cluster",
    "namespace",
    "database",
    "created_at",
    "cpu_seconds",
    "queue_wait_ms",
    "submit_wait_ms",
    "run_ms",
)
_TIMED = ("queue_wait_ms", "submit_wait_ms", "run_ms")


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("queue_wait_ms", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("submit_wait_ms", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("run_ms", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("cpu_seconds", sa.Float(), nullable=True))
    # Finished jobs from before: their queue wait and run time from their step rows (the slot
    # wait and the CPU seconds were never stored, so they stay unknown).
    if op.get_bind().dialect.name == "postgresql":
        started_ms = "EXTRACT(EPOCH FROM (s.started_at - jobs.created_at)) * 1000"
    else:
        started_ms = "(julianday(s.started_at) - julianday(jobs.created_at)) * 86400000"
    finished = "jobs.phase IN ('completed', 'failed', 'cancelled')"
    op.execute(
        f"UPDATE jobs SET queue_wait_ms = (SELECT CAST(ROUND({started_ms}) AS INTEGER) "
        "FROM job_steps s WHERE s.job_id = jobs.id AND s.key = 'preparing' "
        f"AND s.started_at IS NOT NULL) WHERE {finished} AND jobs.source = 'search'"
    )
    op.execute(
        "UPDATE jobs SET run_ms = (SELECT s.duration_ms FROM job_steps s "
        "WHERE s.job_id = jobs.id AND s.key = 'running' AND s.status = 'completed') "
        f"WHERE {finished} AND jobs.source = 'search'"
    )
    op.create_index("ix_jobs_usage", "jobs", list(_INDEX))
    op.create_index("ix_jobs_usage_days", "jobs", ["created_at", "phase"])
    for timed in _TIMED:
        op.create_index(
            f"ix_jobs_{timed}", "jobs", ["cluster", "namespace", timed, "created_at", "owner_id"]
        )


def downgrade() -> None:
    for timed in _TIMED:
        op.drop_index(f"ix_jobs_{timed}", table_name="jobs")
    op.drop_index("ix_jobs_usage_days", table_name="jobs")
    op.drop_index("ix_jobs_usage", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        for column in ("cpu_seconds", "run_ms", "submit_wait_ms", "queue_wait_ms"):
            batch.drop_column(column)
