"""The engine wired up: database, session factory and clock, handing out units of work."""

from __future__ import annotations

from sqlalchemy import Engine

from . import webhooks  # noqa: F401  subscribes webhook queueing to the audit trail

from ..core.clock import Clock, SystemClock
from ..core.db import make_engine, make_session_factory, upgrade_database
from ..core.uow import UnitOfWork


class Platform:
    """One database and one clock; `platform.uow()` starts a unit of work on them."""

    def __init__(self, database_url: str, clock: Clock | None = None):
        self.database_url = database_url
        self.clock: Clock = clock or SystemClock()
        self.db: Engine = make_engine(database_url)
        self.session_factory = make_session_factory(self.db)

    def uow(self) -> UnitOfWork:
        """A new unit of work (use it in a `with` block)."""
        return UnitOfWork(self.session_factory, self.clock)

    def upgrade(self) -> None:
        """Create or migrate the schema."""
        upgrade_database(self.database_url)

    def close(self) -> None:
        """Release the connection pool."""
        self.db.dispose()
