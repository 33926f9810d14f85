"""The migrations and the models describe the same schema (no table, column or index drifts)."""

from __future__ import annotations

import importlib
import pkgutil

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import engine
from engine.core.models import Base


def test_the_migrated_database_matches_the_models(platform):
    for module in pkgutil.walk_packages(engine.__path__, "engine."):  # every table declared
        if not module.name.startswith("engine.migrations"):
            importlib.import_module(module.name)
    with platform.db.engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert drift == []
