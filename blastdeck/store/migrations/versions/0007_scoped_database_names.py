"""scoped database names: private ones become <owner>/<name>, group ones @<group>/<name>

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 16:00:00

Before, database names were global, so a private database's name was taken for everyone (and
a refusal told others it existed). Names are now unique within their scope: a public database
keeps its plain name, a private one is stored as `<owner's user name>/<name>`, a group one as
`@<group>/<name>` ('/' is in no plain name). Jobs record the name of the database they search,
so they are renamed with it. The files stay where they are (`path` is unchanged). A private
database with no owner (added with no user signed in) has no user name to take: it keeps its
plain name, usable by admins only, as before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_databases = sa.table(
    "databases",
    sa.column("name", sa.String),
    sa.column("owner_id", sa.String),
    sa.column("visibility", sa.String),
    sa.column("share_group", sa.String),
)
_users = sa.table("users", sa.column("id", sa.String), sa.column("name", sa.String))
_jobs = sa.table("jobs", sa.column("database", sa.String))


def _widen(length: int, old: int) -> None:
    """Room for a qualified name (up to 64 + 2 + 64 characters). Only PostgreSQL enforces a
    VARCHAR length; SQLite is left alone, since its batch mode would copy and drop the jobs
    table, and dropping it would cascade to every job's steps, events and HSPs."""
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column in (("databases", "name"), ("jobs", "database")):
        op.alter_column(
            table, column, type_=sa.String(length=length), existing_type=sa.String(length=old)
        )


def _rename(bind: sa.Connection, old: str, new: str) -> None:
    bind.execute(_databases.update().where(_databases.c.name == old).values(name=new))
    bind.execute(_jobs.update().where(_jobs.c.database == old).values(database=new))


def upgrade() -> None:
    _widen(200, 128)
    bind = op.get_bind()
    users = dict(bind.execute(sa.select(_users.c.id, _users.c.name)).all())
    rows = bind.execute(
        sa.select(
            _databases.c.name,
            _databases.c.owner_id,
            _databases.c.visibility,
            _databases.c.share_group,
        )
    ).all()
    for name, owner_id, visibility, group in rows:
        if "/" in name:
            continue
        if visibility == "private" and users.get(owner_id):
            _rename(bind, name, f"{users[owner_id]}/{name}")
        elif visibility == "group" and group:
            _rename(bind, name, f"@{group}/{name}")


def downgrade() -> None:
    bind = op.get_bind()
    names = [row[0] for row in bind.execute(sa.select(_databases.c.name)).all()]
    plain = [name.rsplit("/", 1)[-1] for name in names]
    clashes = sorted({p for p in plain if plain.count(p) > 1})
    if clashes:
        raise RuntimeError(
            "Cannot go back to global database names: these names are used in more than one "
            f"scope: {', '.join(clashes)}. Delete or rename all but one of each first."
        )
    for name in names:
        if "/" in name:
            _rename(bind, name, name.rsplit("/", 1)[-1])
    _widen(128, 200)
