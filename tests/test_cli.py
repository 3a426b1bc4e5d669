"""The `fashionsim` command line end to end, as a curator's script would run it (real processes)."""
from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys


from .conftest import REPO, some_hm_images


def run(*args, home, check=True):
    env = dict(os.environ, FASHIONSIM_HOME=str(home), PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-m", "fashionsim_desktop", *map(str, args)], capture_output=True,
                            text=True, env=env, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def test_index_review_decide_undo_keeper_export(small_catalog_folder, tmp_path, isolated_home, model_path):
    out = run("index", small_catalog_folder, home=isolated_home)
    assert "candidate duplicate pairs" in out.stdout
    pairs = json.loads(run("pairs", "--format", "json", home=isolated_home).stdout)
    assert pairs and pairs[0]["kind"] == "exact"
    for p in pairs:
        assert set(p) >= {"path_a", "path_b", "sha256_a", "sha256_b", "score", "kind", "evidence", "decision"}
        assert 0.0 <= p["score"] <= 1.0
    near = [p for p in pairs if p["kind"] == "near"]
    crop = next(p for p in near if "third-cropped.jpg" in (p["path_a"], p["path_b"]))
    mirror = next(p for p in near if "second-mirrored.png" in (p["path_a"], p["path_b"]))
    exact = pairs[0]
    run("decide", crop["path_a"], crop["path_b"], "merge", home=isolated_home)
    run("decide", exact["path_a"], exact["path_b"], "merge", home=isolated_home)
    run("decide", mirror["path_a"], mirror["path_b"], "merge", home=isolated_home)
    run("decide", mirror["path_a"], mirror["path_b"], "keep", home=isolated_home)
    assert "keep -> merge" in run("undo", home=isolated_home).stdout  # exact: back to the earlier merge
    decided = {(p["path_a"], p["path_b"]): p["decision"]
               for p in json.loads(run("pairs", "--format", "json", home=isolated_home).stdout)}
    assert decided[(mirror["path_a"], mirror["path_b"])] == "merge"
    assert decided[(crop["path_a"], crop["path_b"])] == "merge"

    # The cropped copy is smaller, so the original is the suggested keeper; the curator overrides it.
    original = crop["path_b"] if crop["path_a"] == "third-cropped.jpg" else crop["path_a"]
    run("keeper", "third-cropped.jpg", home=isolated_home)
    csv_out = tmp_path / "merges.csv"
    assert "Wrote 3 approved merges" in run("export", "--out", csv_out, home=isolated_home).stdout
    rows = list(csv.DictReader(csv_out.open()))
    by_dup = {r["duplicate_path"]: r for r in rows}
    assert by_dup[original]["keeper_path"] == "third-cropped.jpg"
    assert {r["duplicate_path"] for r in rows} >= {original}
    assert all(r["decided_by"] and r["decided_at"] for r in rows)
    assert len({r["group_id"] for r in rows}) == 3
    json_out = tmp_path / "merges.json"
    run("export", "--out", json_out, "--format", "json", home=isolated_home)
    data = json.loads(json_out.read_text())
    assert data["count"] == 3
    assert {m["duplicate_sha256"] for m in data["merges"]} == {r["duplicate_sha256"] for r in rows}
    assert "3 groups, 3 duplicates" in run("groups", home=isolated_home).stdout


def test_search_finds_the_original_of_an_outside_image(small_catalog_folder, tmp_path, isolated_home, model_path):
    from PIL import Image

    run("index", small_catalog_folder, home=isolated_home)
    target = sorted((small_catalog_folder / "a").glob("0*.jpg"))[5]
    query = tmp_path / "query.jpg"
    with Image.open(target) as im:
        im.resize((200, 300)).save(query, quality=60)
    out = json.loads(run("search", query, "-k", "5", "--format", "json", home=isolated_home).stdout)
    hits = out[0]["results"]
    assert len(hits) == 5
    assert hits[0]["path"] == f"a/{target.name}" and hits[0]["similarity"] > 0.9
    assert hits[0]["similarity"] >= hits[-1]["similarity"]
    bad = tmp_path / "bad.jpg"
    bad.write_text("nope")
    result = run("search", bad, home=isolated_home, check=False)
    assert result.returncode == 1 and "not an image" in result.stdout


def test_errors_lists_bad_files(tmp_path, isolated_home, model_path):
    folder = tmp_path / "f"
    folder.mkdir()
    for p in some_hm_images(2):
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "zero.jpg").write_bytes(b"")
    run("index", folder, home=isolated_home)
    errors = json.loads(run("errors", "--format", "json", home=isolated_home).stdout)
    assert errors == [{"path": "zero.jpg", "reason": "empty file (0 bytes)"}]


def test_clear_messages_and_nonzero_exit(tmp_path, isolated_home, model_path):
    result = run("index", tmp_path / "no-such-folder", home=isolated_home, check=False)
    assert result.returncode == 1 and "does not exist" in result.stderr and "Traceback" not in result.stderr
    result = run("pairs", home=isolated_home, check=False)
    assert result.returncode == 1 and "Index a folder first" in result.stderr

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "catalog.sqlite").write_bytes(b"this is not a database" * 100)
    result = run("pairs", "--catalog", damaged, home=isolated_home, check=False)
    assert result.returncode == 1 and "damaged" in result.stderr and "Traceback" not in result.stderr


def test_locked_catalogue_gives_a_message(small_catalog_folder, tmp_path, isolated_home, model_path):
    catalog_dir = tmp_path / "cat"
    run("index", small_catalog_folder, "--catalog", catalog_dir, home=isolated_home)
    pair = json.loads(run("pairs", "--catalog", catalog_dir, "--format", "json", home=isolated_home).stdout)[0]
    holder = sqlite3.connect(catalog_dir / "catalog.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        result = run("decide", pair["path_a"], pair["path_b"], "merge", "--catalog", catalog_dir,
                     home=isolated_home, check=False)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 1 and "in use" in result.stderr and "Traceback" not in result.stderr


