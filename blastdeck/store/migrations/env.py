"""Alembic environment: BlastDeck passes its engine in `config.attributes["engine"]`."""

from alembic import context
from sqlalchemy import text

from blastdeck.store.models import Base

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        # API and workers may start together: one migrates, the others wait for it.
        connection.execute(text("SELECT pg_advisory_xact_lock(7411000)"))
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
