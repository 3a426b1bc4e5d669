"""Decisions survive damage: the decision journal, damaged catalogues, unclean shutdowns, undo history.

Real catalogues made by the real CLI on real packshots; damage is done to the real files, and crashes are real
SIGKILLs of real processes.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from itertools import combinations

import pytest

from fashionsim_desktop.core.errors import CatalogError
from fashionsim_desktop.store.catalog import DB_NAME, Catalog
from fashionsim_desktop.store.journal import DecisionJournal

from .conftest import REPO
from .test_cli import run


@pytest.fixture
def indexed(small_catalog_folder, tmp_path, isolated_home, model_path):
    """(folder, catalogue folder) of a real indexed catalogue."""
    catalog_dir = tmp_path / "cat"
    run("index", small_catalog_folder, "--catalog", catalog_dir, home=isolated_home)
    return small_catalog_folder, catalog_dir


def shas_of(catalog_dir, n):
    with Catalog(catalog_dir) as catalog:
        return sorted({f["sha256"] for f in catalog.present_files()})[:n]


def decisions_in(catalog_dir):
    with Catalog(catalog_dir) as catalog:
        return {key: d["decision"] for key, d in catalog.decisions().items()}


def python(code: str, *args, check=True):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, env=env,
                            timeout=120)
    if check and result.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(result.stderr)
    return result


def test_a_deleted_wal_and_a_crash_lose_no_acknowledged_decision(indexed, isolated_home):
    _, catalog_dir = indexed
    shas = shas_of(catalog_dir, 6)
    pairs = list(combinations(shas, 2))  # 15 pairs
    # A process makes 15 decisions (each acknowledged when decide() returns), its WAL file is deleted, and it
    # is killed before any checkpoint: the database file itself never saw these decisions.
    code = """
import os, signal, sys
from pathlib import Path
from fashionsim_desktop.store.catalog import Catalog
catalog = Catalog(Path(sys.argv[1]))
catalog.db.execute("PRAGMA wal_autocheckpoint=0")
for pair in sys.argv[2:]:
    a, b = pair.split(":")
    catalog.decide(a, b, "merge")
    print("acknowledged", pair, flush=True)
os.unlink(Path(sys.argv[1]) / "catalog.sqlite-wal")
os.kill(os.getpid(), signal.SIGKILL)
"""
    result = python(code, catalog_dir, *(f"{a}:{b}" for a, b in pairs))
    assert result.returncode == -signal.SIGKILL and result.stdout.count("acknowledged") == 15
    out = run("pairs", "--catalog", catalog_dir, home=isolated_home)
    assert "restored from the journal" in out.stderr
    assert decisions_in(catalog_dir) == {pair: "merge" for pair in pairs}


def test_a_truncated_catalogue_is_damaged_and_restore_rebuilds_its_decisions(indexed, isolated_home, tmp_path):
    folder, catalog_dir = indexed
    pairs = json.loads(run("pairs", "--catalog", catalog_dir, "--format", "json", home=isolated_home).stdout)
    for p in pairs[:3]:
        run("decide", p["path_a"], p["path_b"], "merge", "--catalog", catalog_dir, home=isolated_home)
    run("decide", pairs[2]["path_a"], pairs[2]["path_b"], "keep", "--catalog", catalog_dir, home=isolated_home)
    run("keeper", pairs[0]["path_b"], "--catalog", catalog_dir, home=isolated_home)
    before = decisions_in(catalog_dir)
    database = catalog_dir / DB_NAME
    database.write_bytes(database.read_bytes()[: database.stat().st_size // 3])

    result = run("export", "--out", tmp_path / "merges.csv", "--catalog", catalog_dir, home=isolated_home,
                 check=False)
    assert result.returncode == 1 and "damaged" in result.stderr and "fashionsim restore" in result.stderr
    assert not (tmp_path / "merges.csv").exists()

    out = run("restore", "--catalog", catalog_dir, home=isolated_home).stdout
    assert "Rebuilt 3 decisions and 1 keeper choices" in out
    assert list(catalog_dir.glob(f"{DB_NAME}.damaged-*"))  # moved aside, never deleted
    run("index", folder, "--catalog", catalog_dir, home=isolated_home)
    assert decisions_in(catalog_dir) == before
    rebuilt = {(p["path_a"], p["path_b"]): p["decision"]
               for p in json.loads(run("pairs", "--catalog", catalog_dir, "--format", "json",
                                       home=isolated_home).stdout)}
    assert [rebuilt[(p["path_a"], p["path_b"])] for p in pairs[:3]] == ["merge", "merge", "keep"]
    assert f"keeper {pairs[0]['path_b']} (chosen)" in run("groups", "--catalog", catalog_dir,
                                                        home=isolated_home).stdout


def test_a_zero_byte_catalogue_is_damaged_never_new(indexed, isolated_home, tmp_path):
    _, catalog_dir = indexed
    (catalog_dir / DB_NAME).write_bytes(b"")
    result = run("export", "--out", tmp_path / "merges.csv", "--catalog", catalog_dir, home=isolated_home,
                 check=False)
    assert result.returncode == 1 and "damaged" in result.stderr and "empty" in result.stderr
    assert not (tmp_path / "merges.csv").exists()
    assert (catalog_dir / DB_NAME).stat().st_size == 0  # left as found, for restore
    with pytest.raises(CatalogError, match="damaged"):
        Catalog(catalog_dir)


def _flip_a_table_row_only(database, needle: bytes) -> None:
    """Change one file name inside the files table's own page, leaving its copy in the path index alone: a
    fault PRAGMA quick_check does not see but integrity_check does."""
    data = bytearray(database.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    start = 0
    while (at := data.find(needle, start)) >= 0:
        page = at // page_size
        header = page * page_size + (100 if page == 0 else 0)
        if data[header] == 0x0D:  # a table leaf page, not an index page (0x0A)
            data[at] ^= 0x01
            database.write_bytes(bytes(data))
            return
        start = at + 1
    raise AssertionError("row not found in a table page")


def test_after_an_unclean_shutdown_the_full_integrity_check_runs(indexed, isolated_home):
    _, catalog_dir = indexed
    _flip_a_table_row_only(catalog_dir / DB_NAME, b"copy-of-first.jpg")
    conn = sqlite3.connect(catalog_dir / DB_NAME)
    assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok"
    conn.close()
    # A process with the catalogue open is killed: the next open must not trust quick_check alone.
    python("import os, signal, sys; from pathlib import Path; from fashionsim_desktop.store.catalog import Catalog; "
           "Catalog(Path(sys.argv[1])); os.kill(os.getpid(), signal.SIGKILL)", catalog_dir)
    result = run("decide", "a/x.jpg", "a/y.jpg", "merge", "--catalog", catalog_dir, home=isolated_home, check=False)
    assert result.returncode == 1 and "damaged" in result.stderr
    doctor = run("doctor", "--catalog", catalog_dir, home=isolated_home, check=False)
    assert doctor.returncode == 1 and "fails SQLite's integrity check" in doctor.stdout


def test_doctor_reports_a_sound_catalogue_and_unreadable_evidence(indexed, isolated_home):
    _, catalog_dir = indexed
    doctor = run("doctor", "--catalog", catalog_dir, home=isolated_home)
    assert "PROBLEM" not in doctor.stdout and "agree on all" in doctor.stdout
    conn = sqlite3.connect(catalog_dir / DB_NAME)
    conn.execute("UPDATE verified SET evidence='{not json' WHERE rowid=(SELECT rowid FROM verified ORDER BY score DESC LIMIT 1)")
    conn.commit()
    conn.close()
    listed = run("pairs", "--catalog", catalog_dir, "--format", "json", home=isolated_home)
    assert "could not be read" in listed.stderr and "Traceback" not in listed.stderr
    assert json.loads(listed.stdout)
    doctor = run("doctor", "--catalog", catalog_dir, home=isolated_home, check=False)
    assert doctor.returncode == 1 and "readable evidence" in doctor.stdout


def test_undo_keeps_who_decided_and_when(indexed):
    _, catalog_dir = indexed
    a, b = shas_of(catalog_dir, 2)
    with Catalog(catalog_dir) as catalog:
        catalog.decide(a, b, "merge")
        first = catalog.decisions()[(a, b)]
        catalog.decide(a, b, "keep")
        assert catalog.undo() == [{"sha_a": a, "sha_b": b, "undone": "keep", "restored": "merge"}]
        assert catalog.decisions()[(a, b)] == first  # the merge as it was made: same user and time
        history = catalog.decision_history()
    assert [(h["after"], h["undone"]) for h in history] == [("merge", 0), ("keep", 1)]
    assert history[1]["undone_at"] and history[1]["undone_by"]


def test_undo_takes_back_only_your_own_steps(indexed):
    _, catalog_dir = indexed
    a, b, c = shas_of(catalog_dir, 3)
    with Catalog(catalog_dir, origin="window:test") as window, Catalog(catalog_dir) as cli:
        window.decide(a, b, "merge")
        cli.decide(a, c, "keep")
        assert window.undo()[0]["sha_b"] == b  # the window's own step, not the CLI's newer one
        assert window.undo() == []
        assert cli.decisions()[(a, c)]["decision"] == "keep"
        window.decide(b, c, "merge")
        cli.decide(b, c, "keep")  # someone else changed the pair since
        assert window.undo() == []
        assert cli.decisions()[(b, c)]["decision"] == "keep"


def test_a_catalogue_of_the_previous_schema_is_migrated_with_a_backup(tmp_path):
    directory = tmp_path / "old"
    directory.mkdir()
    conn = sqlite3.connect(directory / DB_NAME)
    conn.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE files (path TEXT PRIMARY KEY, path_raw BLOB, sha256 TEXT, size INTEGER, mtime_ns INTEGER,
                            status TEXT, error TEXT, first_seen FLOAT, last_seen FLOAT);
        CREATE TABLE images (sha256 TEXT PRIMARY KEY, width INTEGER, height INTEGER, format TEXT, phash TEXT,
                             dhash TEXT, whash TEXT, colorhash TEXT, embedding BLOB, model_id TEXT);
        CREATE TABLE verified (sha_a TEXT, sha_b TEXT, verifier TEXT, cosine FLOAT, score FLOAT, evidence TEXT,
                               PRIMARY KEY (sha_a, sha_b));
        CREATE TABLE decisions (sha_a TEXT, sha_b TEXT, decision TEXT, decided_by TEXT, decided_at FLOAT,
                                PRIMARY KEY (sha_a, sha_b));
        CREATE TABLE decision_log (id INTEGER PRIMARY KEY, batch INTEGER, sha_a TEXT, sha_b TEXT, before TEXT,
                                   after TEXT, at FLOAT, by TEXT, undone INTEGER);
        CREATE TABLE keepers (sha256 TEXT PRIMARY KEY, chosen_at FLOAT, chosen_by TEXT);
        INSERT INTO files VALUES ('a.jpg', X'612e6a7067', 'aa', 1, 1, 'ok', NULL, 1.0, 1.0);
        INSERT INTO decisions VALUES ('aa', 'bb', 'merge', 'curator', 1.5);
        INSERT INTO decision_log VALUES (1, 1, 'aa', 'bb', NULL, 'merge', 1.5, 'curator', 0);
        PRAGMA user_version=1;
    """)
    conn.close()
    with Catalog(directory) as catalog:
        assert catalog.decisions() == {("aa", "bb"): {"decision": "merge", "by": "curator", "at": 1.5}}
        assert list(catalog.files_by_raw_path()) == [b"a.jpg"]
    assert (directory / f"{DB_NAME}.v1-backup").exists()
    steps = [entry for _, entry in DecisionJournal(directory).entries()]
    assert steps[0]["op"] == "snapshot" and steps[0]["decisions"] == [["aa", "bb", "merge", "curator", 1.5]]


def test_keeper_choices_are_steps_undone_like_decisions_and_rebuilt_from_the_journal(indexed, isolated_home):
    _, catalog_dir = indexed
    a, b, c = shas_of(catalog_dir, 3)
    with Catalog(catalog_dir) as catalog:
        catalog.set_keeper(a)
        first = catalog.keepers()[a]
        assert catalog.set_keepers([(a, None), (b, b"some/file.jpg"), (c, None)]) == 3  # one step
        assert catalog.keeper_files() == {b: b"some/file.jpg"}
        assert catalog.undo() == [] and sorted(catalog.undone_keepers) == sorted([a, b, c])
        assert catalog.keepers() == {a: first}  # the earlier choice comes back as it was
        assert catalog.decision_history() == []  # keeper steps are not pair decisions
    out = run("undo", "--catalog", catalog_dir, home=isolated_home).stdout
    assert "Undone: keeper choice" in out
    with Catalog(catalog_dir) as catalog:
        assert catalog.keepers() == {}


def test_a_journal_line_of_the_wrong_shape_is_skipped_and_restore_still_rebuilds(indexed, isolated_home):
    _, catalog_dir = indexed
    a, b, c = shas_of(catalog_dir, 3)
    with Catalog(catalog_dir) as catalog:
        catalog.decide(a, b, "merge")
        catalog.decide(a, c, "keep")
    journal = DecisionJournal(catalog_dir).path
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[-1] = lines[-1].replace(b'"after"', b'"agter"')  # one damaged step, still valid JSON
    journal.write_bytes(b"".join(lines) + b'{"v":1,"op":"decide","items":[{"a":"x"}]}\n')
    (catalog_dir / DB_NAME).write_bytes(b"")
    result = run("restore", "--catalog", catalog_dir, home=isolated_home)
    assert "Traceback" not in result.stderr and "could not be read and were skipped" in result.stderr
    assert decisions_in(catalog_dir) == {(a, b): "merge"}
    assert run("doctor", "--catalog", catalog_dir, home=isolated_home, check=False).returncode in (0, 1)


def test_another_catalogues_database_put_in_place_never_costs_this_one_its_decisions(tmp_path, small_catalog_folder,
                                                                                    isolated_home, model_path):
    for name in ("a", "b"):
        run("index", small_catalog_folder, "--catalog", tmp_path / name, home=isolated_home)
    a, b, c = shas_of(tmp_path / "a", 3)
    with Catalog(tmp_path / "a") as catalog:
        catalog.decide(a, b, "merge")
        catalog.decide(b, c, "keep")
    with Catalog(tmp_path / "b") as catalog:
        catalog.decide(a, c, "merge")
    ours = decisions_in(tmp_path / "a")
    shutil.copyfile(tmp_path / "b" / DB_NAME, tmp_path / "a" / DB_NAME)
    result = run("pairs", "--catalog", tmp_path / "a", home=isolated_home, check=False)
    assert result.returncode == 1 and "belongs to another catalogue" in result.stderr
    assert "Rebuilt 2 decisions" in run("restore", "--catalog", tmp_path / "a", home=isolated_home).stdout
    assert decisions_in(tmp_path / "a") == ours


def test_restore_rebuilds_a_missing_database_and_one_that_disagrees_with_its_journal(indexed, isolated_home):
    _, catalog_dir = indexed
    a, b = shas_of(catalog_dir, 2)
    with Catalog(catalog_dir) as catalog:
        catalog.decide(a, b, "merge")
    conn = sqlite3.connect(catalog_dir / DB_NAME)
    conn.execute("UPDATE decisions SET decision='keep'")  # changed behind the journal's back
    conn.commit()
    conn.close()
    doctor = run("doctor", "--catalog", catalog_dir, home=isolated_home, check=False)
    assert doctor.returncode == 1 and "fashionsim restore" in doctor.stdout
    run("restore", "--catalog", catalog_dir, home=isolated_home)
    assert decisions_in(catalog_dir) == {(a, b): "merge"}
    for suffix in ("", "-wal", "-shm"):
        (catalog_dir / (DB_NAME + suffix)).unlink(missing_ok=True)
    assert "Rebuilt 1 decisions" in run("restore", "--catalog", catalog_dir, home=isolated_home).stdout


def test_doctor_reads_a_catalogue_whose_path_holds_uri_characters(small_catalog_folder, tmp_path, isolated_home,
                                                                  model_path):
    odd = tmp_path / "cat#1?x%20"
    run("index", small_catalog_folder, "--catalog", odd, home=isolated_home)
    doctor = run("doctor", "--catalog", odd, home=isolated_home)
    assert "PROBLEM" not in doctor.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["catalogue", "cat#1?x%20"])
