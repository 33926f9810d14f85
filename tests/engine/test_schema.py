"""The migrations and the models describe the same schema (no table, column or index drifts)."""

from __future__ import annotations

import importlib
import pkgutil

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import engine
from engine.models import Base


def test_the_migrated_database_matches_the_models(platform):
    for module in pkgutil.iter_modules(engine.__path__):  # every module that declares tables
        importlib.import_module(f"engine.{module.name}")
    with platform.db.engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert drift == []
