"""Shared set-up of the benchmarks: a platform on a throw-away database, seeding by bulk INSERT."""

from __future__ import annotations

import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from engine.bpm import definitions
from engine.core.clock import FrozenClock
from engine.ops.platform import Platform

HERE = Path(__file__).parent
ROOT = HERE.parent
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def sqlite_platform(tmp: str, name: str = "bench.db", clock=None) -> Platform:
    """A migrated SQLite platform in `tmp` on a frozen clock."""
    platform = Platform(f"sqlite:///{tmp}/{name}", clock or FrozenClock(T0))
    platform.upgrade()
    return platform


def deploy(platform: Platform, *paths: Path) -> None:
    """Deploy BPMN/DMN files or folders."""
    for path in paths:
        with platform.uow() as uow:
            definitions.deploy_path(uow, path, "bench")


def fresh_ids(state: bytes) -> tuple[bytes, dict[bytes, bytes]]:
    """The state with every task id replaced by a new one (consistently), and the mapping."""
    mapping: dict[bytes, bytes] = {}

    def swap(match: re.Match) -> bytes:
        old = match.group(0)
        if old not in mapping:
            mapping[old] = str(uuid.uuid4()).encode()
        return mapping[old]

    return _UUID.sub(swap, state), mapping


def median_ms(fn: Callable[[], object], rounds: int) -> float:
    """Median wall time of `fn` in milliseconds."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def tempdir() -> tempfile.TemporaryDirectory:
    """A throw-away folder for one benchmark's database."""
    return tempfile.TemporaryDirectory(prefix="gongjian-bench-")
