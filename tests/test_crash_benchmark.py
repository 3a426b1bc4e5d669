"""The crash benchmark in small: real CLI processes killed mid-decide and mid-undo lose no acknowledged decision."""
from __future__ import annotations

from benchmarks.crash import run_benchmark


def test_killed_decides_and_undos_lose_nothing(model_path):
    result = run_benchmark(kills=4, seed=1, pictures=40, kinds=("decide", "undo"))
    assert result["kills"] == 4
    assert result["decisions_acknowledged"] > 0  # the model was really exercised
    assert result["decisions_lost"] == 0
    assert result["unexplained_changes"] == 0
    assert result["integrity_failures"] == 0
    assert result["index_resumed_ok"]
