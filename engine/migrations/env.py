"""Alembic environment: runs the engine's migrations against the configured URL."""

from alembic import context

from engine.core.db import make_engine
import engine.core.organisation  # noqa: F401  (registers its tables on Base)
import engine.core.calendar_admin  # noqa: F401
import engine.core.notifications  # noqa: F401
import engine.core.org_admin  # noqa: F401
import engine.core.imports  # noqa: F401
import engine.core.attachments  # noqa: F401  (附件)
import engine.bpm.standing  # noqa: F401  (委托)
import engine.county.supervision  # noqa: F401
import engine.county.projects  # noqa: F401
import engine.county.issue_ledger  # noqa: F401
import engine.county.desk_lines  # noqa: F401  (督办台's task lines)
import engine.county.plates  # noqa: F401  (also registers the project schedule tables)
import engine.county.awards  # noqa: F401
import engine.county.agendas  # noqa: F401
import engine.county.extensions  # noqa: F401  (延期申请)
import engine.county.audit_trails  # noqa: F401  (project_instance)
from engine.core.models import Base

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
