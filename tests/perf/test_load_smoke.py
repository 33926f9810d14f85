"""A few users working tasks against gunicorn for a few seconds: no error, nothing lost.

The short form of bench/load_bench.py (issue 11); timings are not asserted. gunicorn comes
with the dev extra, as with the deploy extra.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))

import load_bench  # noqa: E402


def test_five_users_for_two_seconds_meet_no_error_and_lose_no_completion():
    # One worker keeps it short; its four threads still write through separate connections,
    # which SQLite locks exactly as it locks separate processes.
    result = load_bench.run("sqlite", users=5, seconds=2, workers=1)
    report = "\n".join(load_bench.report(result))
    assert result["completions"] > 0, report
    assert result["errors"] == 0, report
    assert result["lost"] == result["doubled"] == result["untold"] == 0, report
    assert result["chain_ok"], report
    assert result["ok"], report
