"""The scale benchmark (benchmarks/scale.py) runs end to end at a tiny size and reports every figure."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_scale_benchmark_reports_every_phase(tmp_path):
    from benchmarks.scale import REQUIRED_KEYS

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", FASHIONSIM_HOME=str(tmp_path / "home"))
    keep = tmp_path / "kept"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.scale", "--pictures", "2000", "--format", "json",
                           "--queries", "10", "--keep", str(keep)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    missing = [k for k in REQUIRED_KEYS if k not in result]
    assert not missing, f"missing keys: {missing}"
    assert result["pictures"] == 2000
    for key in REQUIRED_KEYS:
        assert isinstance(result[key], (int, float)) and result[key] >= 0, (key, result[key])
    assert result["candidate_pairs"] > 0
    assert result["duplicate_pairs"] > 0  # planted copies found and verified (bookkeeping)
    assert result["queue_rows"] == result["duplicate_pairs"]  # the window's review queue holds them all
    assert result["merge_rows"] > 0
    assert result["catalog_bytes"] > 0
    assert 0 < result["search_ms"] < 5000
    assert 0 < result["peak_rss_mb"] < 8192
    # --keep leaves a catalogue that the app opens and that holds every picture
    from fashionsim_desktop.store.catalog import Catalog

    with Catalog(keep / "catalog", create=False) as catalog:
        assert catalog.counts().get("ok") == 2000
