"""Engine settings, read from the environment by the entry points (never by services)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_INSTANCE_DIR = PROJECT_ROOT / "instance"


@dataclass(frozen=True)
class Settings:
    """Where the database is and where the definitions to deploy live."""

    database_url: str
    bpmn_dir: Path = PROJECT_ROOT / "bpmn"
    rules_dir: Path = PROJECT_ROOT / "rules"

    @classmethod
    def from_env(cls) -> Settings:
        """`DATABASE_URL`, or an SQLite file in ./instance when it is not set."""
        url = os.environ.get("DATABASE_URL")
        if not url:
            instance_dir = Path(os.environ.get("GONGJIAN_INSTANCE_DIR", DEFAULT_INSTANCE_DIR))
            instance_dir.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{instance_dir / 'gongjian.db'}"
        return cls(database_url=url)
