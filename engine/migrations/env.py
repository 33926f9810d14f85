"""Alembic environment: runs the engine's migrations against the configured URL."""

from alembic import context

from engine.db import make_engine
import engine.organisation  # noqa: F401  (registers its tables on Base)
import engine.calendar_admin  # noqa: F401
import engine.notifications  # noqa: F401
import engine.supervision  # noqa: F401
import engine.projects  # noqa: F401
import engine.issue_ledger  # noqa: F401
import engine.plates  # noqa: F401  (also registers the project schedule tables)
import engine.awards  # noqa: F401
import engine.agendas  # noqa: F401
from engine.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run migrations on a live connection (the only mode we use)."""
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(connection=connectable, target_metadata=target_metadata,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    db_engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with db_engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    db_engine.dispose()


run_migrations_online()
