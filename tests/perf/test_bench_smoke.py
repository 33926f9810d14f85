"""Each measurement of `make bench` run once, small: it still runs against today's processes
and forms (row 5 broke unnoticed when 研究解决 came to need its unit). Timings are not
asserted; only that each row produces its figures."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))

import engine_bench  # noqa: E402
import scale_bench  # noqa: E402


def test_the_completion_rows_run():
    in_memory, step = engine_bench.library_only(2)
    assert in_memory > 0 and step > 0
    assert engine_bench.service_completion(2) > 0
    assert engine_bench.api_completion(2) > 0


def test_the_long_lived_issue_row_runs_to_the_top_rung_and_back():
    issue = engine_bench.long_lived_issue(1, cycles=5)
    assert issue["fresh_ms"] > 0 and issue["old_ms"] > 0
    assert issue["old_state_kb"] > 0


def test_the_scale_rows_run():
    inbox = scale_bench.inbox(2, small=1_000, big=2_000)
    assert inbox["small_rows"] == inbox["big_rows"] == scale_bench.PAGE
    timers = scale_bench.timer_pass(2, small=3, big=6, due=2)
    assert timers["small_ms"] > 0 and timers["big_ms"] > 0
