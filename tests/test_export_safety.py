"""The merge-list export never destroys data and writes a list any program can trust: real catalogues, real
CLI processes, the real window."""
from __future__ import annotations

import csv
import errno
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest

from .conftest import REPO, some_hm_images

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

FORMULA_NAMES = ['=1+1&".jpg', '=HYPERLINK("x","y").jpg', "+1.jpg", "-2.jpg", "@SUM(1).jpg", "\tTab.jpg",
                 "\rCR.jpg"]
LATIN1_NAME = b"caf\xe9.jpg"  # not UTF-8: shown as caf\xe9.jpg
BACKSLASH_NAME = b"caf\\xe9.jpg"  # a real backslash: also shown as caf\xe9.jpg


def cli(*args, home, umask=None, check=True):
    env = dict(os.environ, FASHIONSIM_HOME=str(home), PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-m", "fashionsim_desktop", *map(str, args)], capture_output=True,
                            text=True, env=env, timeout=300, umask=-1 if umask is None else umask)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def put(folder: Path, name: bytes | str, source: Path) -> None:
    """Copy a real picture under any file name, UTF-8 or not."""
    raw = name if isinstance(name, bytes) else os.fsencode(name)
    shutil.copyfile(source, os.path.join(os.fsencode(folder), raw))


def merge_all_exact_copies(catalog_dir: Path) -> None:
    from fashionsim_desktop.store.catalog import Catalog

    with Catalog(catalog_dir) as catalog:
        catalog.decide_many((sha, sha, "merge") for sha in catalog.exact_groups())


def sha256(path) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def snapshot(*folders: Path) -> dict:
    return {p: sha256(p) for f in folders for p in Path(f).rglob("*") if p.is_file() and not p.is_symlink()}


def temp_leftovers(*folders: Path) -> list:
    return [p for f in folders for p in Path(f).rglob(".*.tmp")]


def uri_bytes(uri: str) -> bytes:
    assert uri.startswith("file:///")
    return unquote_to_bytes(uri[len("file://"):])


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, model_path):
    """One indexed folder: a picture with plain, formula-like and non-UTF-8 named copies, all merged."""
    base = tmp_path_factory.mktemp("indexed")
    home, folder, catalog_dir = base / "home", base / "photos", base / "home" / "catalogue"
    folder.mkdir()
    first, second, *others = some_hm_images(4, skip=300)
    put(folder, "original.jpg", first)
    for name in FORMULA_NAMES + [LATIN1_NAME]:
        put(folder, name, first)
    put(folder, "second.jpg", second)
    put(folder, "second-copy.jpg", second)
    for p in others:
        put(folder, p.name, p)
    cli("index", folder, "--catalog", catalog_dir, home=home)
    merge_all_exact_copies(catalog_dir)
    return folder, catalog_dir, home


def test_cli_refuses_to_write_over_catalogue_files_and_pictures(indexed, tmp_path):
    folder, catalog_dir, home = indexed
    db = catalog_dir / "catalog.sqlite"
    (tmp_path / "link-to-db.csv").symlink_to(db)
    os.link(db, tmp_path / "hardlink-to-db.csv")
    (tmp_path / "link-to-picture.jpg").symlink_to(folder / "second.jpg")
    (tmp_path / "photos-alias").symlink_to(folder)
    before = snapshot(folder, catalog_dir)
    decisions = cli("pairs", "--format", "json", "--catalog", catalog_dir, home=home).stdout

    own = [db, catalog_dir / "catalog.sqlite-wal", catalog_dir / "decisions.journal.jsonl",
           catalog_dir / "vectors.ids.json", catalog_dir / "merges.csv", tmp_path / "link-to-db.csv",
           tmp_path / "hardlink-to-db.csv"]
    pictures = [folder / "original.jpg", folder / os.fsdecode(LATIN1_NAME), tmp_path / "link-to-picture.jpg",
                tmp_path / "photos-alias" / "second-copy.jpg"]
    cases = [(t, "catalogue") for t in own] + [(t, "picture") for t in pictures]
    for (target, word), force in itertools.product(cases, ([], ["--force"])):  # --force changes nothing here
        result = cli("export", "--out", target, *force, "--catalog", catalog_dir, home=home, check=False)
        assert result.returncode == 1, (target, result.stdout, result.stderr)
        message = result.stderr.strip()
        assert message.startswith("fashionsim: ") and "\n" not in message and word in message, message
        assert not result.stdout

    assert snapshot(folder, catalog_dir) == before  # every byte where it was
    assert sha256(tmp_path / "hardlink-to-db.csv") == before[db]
    assert cli("pairs", "--format", "json", "--catalog", catalog_dir, home=home).stdout == decisions
    assert '"merge"' in decisions
    assert not temp_leftovers(folder, catalog_dir, tmp_path)


def test_cli_replaces_only_with_force_and_follows_the_umask(indexed, tmp_path):
    folder, catalog_dir, home = indexed
    fresh = tmp_path / "fresh.csv"
    cli("export", "--out", fresh, "--catalog", catalog_dir, home=home, umask=0o022)
    assert fresh.stat().st_mode & 0o777 == 0o644
    private = tmp_path / "private.json"
    cli("export", "--out", private, "--catalog", catalog_dir, home=home, umask=0o077)
    assert private.stat().st_mode & 0o777 == 0o600

    existing = tmp_path / "existing.csv"
    existing.write_text("the curator's own notes\n")
    result = cli("export", "--out", existing, "--catalog", catalog_dir, home=home, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == f"fashionsim: {existing} already exists. Add --force to replace it."
    assert existing.read_text() == "the curator's own notes\n"
    replaced = cli("export", "--out", existing, "--force", "--catalog", catalog_dir, home=home, umask=0o022)
    assert f"Wrote {len(FORMULA_NAMES) + 2} approved merges" in replaced.stdout
    assert existing.read_text() == fresh.read_text()
    assert existing.stat().st_mode & 0o777 == 0o644
    assert not temp_leftovers(tmp_path)

    # A write that fails half-way (file size limit: EFBIG) leaves the old file and no temp file.
    script = ("import resource, sys\nfrom pathlib import Path\n"
              "from fashionsim_desktop.core.export import write_atomically\n"
              "resource.setrlimit(resource.RLIMIT_FSIZE, (1000, resource.RLIM_INFINITY))\n"
              "try:\n    write_atomically(Path(sys.argv[1]), 'x' * 100_000)\n"
              "except OSError as exc:\n    print(exc.errno)\n")
    result = subprocess.run([sys.executable, "-c", script, str(existing)], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=60)
    assert result.stdout.strip() == str(errno.EFBIG), result.stderr
    assert existing.read_text() == fresh.read_text()
    assert not temp_leftovers(tmp_path)


def test_csv_cells_cannot_run_as_formulas_json_keeps_the_text(indexed, tmp_path):
    folder, catalog_dir, home = indexed
    cli("export", "--out", tmp_path / "m.csv", "--catalog", catalog_dir, home=home)
    cli("export", "--out", tmp_path / "m.json", "--catalog", catalog_dir, home=home)
    with open(tmp_path / "m.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    from fashionsim_desktop.core.scan import display_path

    # A tab or carriage return in a name is shown escaped (\x09), which no spreadsheet runs; the others are quoted.
    texts = [display_path(name.encode()) for name in FORMULA_NAMES]
    shown = {r[c] for r in rows for c in ("keeper_path", "duplicate_path")}
    assert {("'" + t if t.startswith(("=", "+", "-", "@")) else t) for t in texts} <= shown
    merges = json.loads((tmp_path / "m.json").read_text())["merges"]
    assert set(texts) <= {m[c] for m in merges for c in ("keeper_path", "duplicate_path")}


def test_uris_open_exactly_the_listed_files(indexed, tmp_path):
    folder, catalog_dir, home = indexed
    cli("export", "--out", tmp_path / "m.csv", "--catalog", catalog_dir, home=home)
    cli("export", "--out", tmp_path / "m.json", "--catalog", catalog_dir, home=home)
    with open(tmp_path / "m.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh)) + json.loads((tmp_path / "m.json").read_text())["merges"]
    opened = set()
    for row in rows:
        for side in ("keeper", "duplicate"):
            raw = uri_bytes(row[f"{side}_uri"])
            assert sha256(raw) == row[f"{side}_sha256"]
            opened.add(os.path.basename(raw))
    assert {LATIN1_NAME, b"original.jpg", b"second.jpg", b"second-copy.jpg"} | {
        os.fsencode(n) for n in FORMULA_NAMES} == opened


def test_uris_tell_apart_names_that_display_alike(tmp_path, isolated_home, model_path):
    folder, catalog_dir = tmp_path / "photos", tmp_path / "catalogue"
    folder.mkdir()
    first, second = some_hm_images(2, skip=320)
    put(folder, "first.jpg", first)
    put(folder, LATIN1_NAME, first)
    put(folder, "second.jpg", second)
    put(folder, BACKSLASH_NAME, second)
    cli("index", folder, "--catalog", catalog_dir, home=isolated_home)
    merge_all_exact_copies(catalog_dir)
    cli("export", "--out", tmp_path / "m.json", "--catalog", catalog_dir, home=isolated_home)
    merges = json.loads((tmp_path / "m.json").read_text())["merges"]
    opened = {}
    for row in merges:
        for side in ("keeper", "duplicate"):
            raw = uri_bytes(row[f"{side}_uri"])
            assert sha256(raw) == row[f"{side}_sha256"]
            opened[os.path.basename(raw)] = row[f"{side}_sha256"]
    assert opened == {b"first.jpg": sha256(first), LATIN1_NAME: sha256(first),
                      b"second.jpg": sha256(second), BACKSLASH_NAME: sha256(second)}


# -- the window ------------------------------------------------------------------------------------
from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QMessageBox  # noqa: E402

from .test_gui import decisions_on_disk, open_and_index, window  # noqa: E402,F401


def indexed_in_window(qtbot, win, tmp_path) -> Path:
    """Three real packshots and a byte copy, indexed by the window, the exact pair merged."""
    folder = tmp_path / "photos"
    folder.mkdir()
    pictures = some_hm_images(3, skip=340)
    for p in pictures:
        put(folder, p.name, p)
    put(folder, "copy.jpg", pictures[0])
    open_and_index(qtbot, win, folder)
    win.review.setFocus()
    qtbot.keyClick(win.review, Qt.Key.Key_M)
    assert list(decisions_on_disk(win).values()) == ["merge"]
    return folder


def test_window_export_refuses_catalogue_and_pictures_and_asks_before_replacing(qtbot, window, tmp_path):
    folder = indexed_in_window(qtbot, window, tmp_path)
    db, picture = window.session.catalog_dir / "catalog.sqlite", folder / "copy.jpg"
    db_sha, picture_sha = sha256(db), sha256(picture)
    asked = []

    def answer(yes):
        return lambda path: asked.append(path) or yes

    for target, word in [(db, "catalogue"), (picture, "picture")]:
        assert window.export_to(target, "csv", confirm_replace=answer(True)) is None
        assert word in window.statusBar().currentMessage()
    assert asked == []  # refused outright: nothing to confirm
    assert (sha256(db), sha256(picture)) == (db_sha, picture_sha)
    assert list(decisions_on_disk(window).values()) == ["merge"]

    existing = tmp_path / "merges.csv"
    existing.write_text("notes\n")
    assert window.export_to(existing, "csv", confirm_replace=answer(False)) is None
    assert existing.read_text() == "notes\n" and asked == [existing]
    assert window.export_to(existing, "csv") is None  # no dialogs in tests: nobody to ask, the file stays
    assert existing.read_text() == "notes\n"
    assert window.export_to(existing, "csv", confirm_replace=answer(True)) == 1
    assert existing.read_text().startswith("group_id,") and asked == [existing, existing]
    assert not temp_leftovers(tmp_path, window.session.catalog_dir)


def run_export_dialog(qtbot, win, target: Path) -> list[str]:
    """Drive the real Export dialogs: choose `target`, answer Yes/OK to every message; returns their texts.
    The confirmation comes once the merge groups are worked out in the background, so the driver waits for the
    flow's last message (the export's result or its refusal)."""
    texts, ticks = [], [0]

    def step():
        ticks[0] += 1
        if ticks[0] > 900:
            return
        QTimer.singleShot(100, step)  # a fresh timer each time: a nested dialog's loop still gets one
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, QFileDialog):
            dialog.findChild(QLineEdit, "fileNameEdit").setText(str(target))  # as if typed by the curator
            dialog.accept()
        elif isinstance(dialog, QMessageBox):
            texts.append(dialog.text())
            (dialog.button(QMessageBox.StandardButton.Yes) or dialog.button(QMessageBox.StandardButton.Ok)).click()

    QTimer.singleShot(100, step)
    win.export_dialog()
    qtbot.waitUntil(lambda: bool(texts) and ("Wrote" in texts[-1] or "could not be written" in texts[-1]
                                             or "belongs to" in texts[-1]), timeout=60000)
    qtbot.wait(300)  # the last message box closes
    ticks[0] = 1000  # stop driving
    return texts


def test_export_dialog_asks_once_and_refuses_catalogue_files(qtbot, window, tmp_path, monkeypatch):
    folder = indexed_in_window(qtbot, window, tmp_path)
    monkeypatch.delenv("FASHIONSIM_NO_DIALOGS", raising=False)  # the curator sees every message
    db = window.session.catalog_dir / "catalog.sqlite"
    db_sha = sha256(db)
    texts = run_export_dialog(qtbot, window, db)
    assert sha256(db) == db_sha and list(decisions_on_disk(window).values()) == ["merge"]
    assert not any("replace" in t.lower() for t in texts), texts  # never offered to replace the catalogue
    assert "catalog.sqlite belongs to the catalogue" in texts[-1]

    existing = tmp_path / "merges.csv"
    existing.write_text("notes\n")
    texts = run_export_dialog(qtbot, window, existing)
    assert sum("replace" in t.lower() for t in texts) == 1, texts  # asked exactly once
    assert existing.read_text().startswith("group_id,") and "Wrote 1 approved merges" in texts[-1]


def test_force_never_replaces_a_linked_picture_a_device_or_another_catalogues_file(tmp_path, isolated_home,
                                                                                  model_path):
    folder, outside = tmp_path / "photos", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    first, second = some_hm_images(2, skip=60)
    put(folder, "a.jpg", first)
    put(outside, "linked.jpg", second)
    os.symlink(outside / "linked.jpg", folder / "linked.jpg")  # indexed through the link
    cli("index", folder, "--catalog", tmp_path / "cat", home=isolated_home)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "decisions.journal.jsonl").write_text("{}\n")
    before = snapshot(outside, tmp_path / "other")
    for target in (outside / "linked.jpg", fifo, tmp_path / "other" / "decisions.journal.jsonl"):
        result = cli("export", "--out", target, "--force", "--catalog", tmp_path / "cat", home=isolated_home,
                     check=False)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert snapshot(outside, tmp_path / "other") == before
    assert fifo.is_fifo()
