"""Two processes completing the same instances' tasks on PostgreSQL lose nothing.

Skipped without PostgreSQL (the admin URL BENCH_POSTGRES_URL, default the local server).
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))

import pg_bench  # noqa: E402

pytestmark = pytest.mark.skipif(not pg_bench.available(), reason="no PostgreSQL server")


def test_racing_worker_processes_retry_or_report_every_conflict_and_lose_nothing():
    result = pg_bench.race(instances=3, processes=2)
    assert result["lost"] == 0
    assert result["completed_once"] == result["rows_completed"] == result["tasks"]
    assert result["audit_events"] == result["tasks"]
    assert result["ok"], result
