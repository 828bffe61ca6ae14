"""name HSPs as HSPs: the hits table becomes hsps, jobs.hits_total becomes hsps_total

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 14:00:00

A row of the old "hits" table was always one HSP (one aligned segment); a hit is all the HSPs
of one (query, subject) pair. The rename keeps every row and index.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_INDEXES = (("evalue", "evalue"), ("bitscore", "bitscore"), ("query", "query_index"))


def _rename(old: str, new: str) -> None:
    op.rename_table(old, new)
    postgres = op.get_bind().dialect.name == "postgresql"
    for suffix, column in _INDEXES:
        if postgres:  # renamed in place: no rebuild of an index over millions of rows
            op.execute(f"ALTER INDEX ix_{old}_job_{suffix} RENAME TO ix_{new}_job_{suffix}")
        else:  # SQLite cannot rename an index
            op.drop_index(f"ix_{old}_job_{suffix}", table_name=new)
            op.create_index(f"ix_{new}_job_{suffix}", new, ["job_id", column])


def upgrade() -> None:
    _rename("hits", "hsps")
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.alter_column("hits_total", new_column_name="hsps_total")


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.alter_column("hsps_total", new_column_name="hits_total")
    _rename("hsps", "hits")
