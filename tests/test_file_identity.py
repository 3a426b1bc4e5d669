"""A file is its raw path bytes, and a picture's features come from exactly the bytes of its sha256.

Real packshots, real indexing runs; the mid-run changes are made from the run's own progress reports, at the
moment the feature phase starts (after every checksum was taken, before any picture is decoded).
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys

from fashionsim_desktop.core.indexer import Indexer
from fashionsim_desktop.core.progress import Progress
from fashionsim_desktop.core.review import list_pairs
from fashionsim_desktop.store.catalog import Catalog

from .conftest import REPO, some_hm_images
from .test_cli import run


def _folder_with_a_byte_copy(tmp_path):
    """Eight different packshots, and a byte copy of the first whose path sorts first (so it is the one read)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    pictures = some_hm_images(8, skip=300)
    for p in pictures:
        shutil.copyfile(p, folder / f"z-{p.name}")
    shutil.copyfile(pictures[0], folder / "a-copy.jpg")
    return folder, pictures


def _index_changing(folder, catalog_dir, model_path, change):
    progress = Progress()
    done = []

    def listener(status):
        if status.phase == "features" and not done:
            done.append(True)
            change()

    progress.listener = listener
    with Catalog(catalog_dir, root=folder) as catalog:
        return Indexer(folder, catalog, model_path=model_path).run(progress)


def test_a_file_overwritten_mid_run_never_lends_its_new_content_to_its_byte_copy(tmp_path, model_path):
    folder, pictures = _folder_with_a_byte_copy(tmp_path)
    other = folder / f"z-{pictures[5].name}"  # a different product
    report = _index_changing(folder, tmp_path / "cat", model_path,
                             lambda: shutil.copyfile(other, folder / "a-copy.jpg"))
    assert report.files_changed_while_read == 1
    with Catalog(tmp_path / "cat", root=folder) as catalog:
        assert catalog.files_by_raw_path()[b"a-copy.jpg"].status == "new"  # read again on the next run
        Indexer(folder, catalog, model_path=model_path).run()
        pairs = list_pairs(catalog, 0.0)
        files = catalog.files_by_raw_path()
    intact = f"z-{pictures[0].name}"
    # The intact copy is never proposed as a duplicate of the other product ...
    assert not [p for p in pairs if {p.path_a, p.path_b} == {intact, other.name}]
    # ... and a-copy.jpg is now known as what it is: a byte copy of the other product.
    assert files[b"a-copy.jpg"].sha256 == files[other.name.encode()].sha256
    assert files[intact.encode()].status == "ok"


def test_a_file_truncated_mid_run_does_not_mark_its_intact_copies_unreadable(tmp_path, model_path):
    folder, pictures = _folder_with_a_byte_copy(tmp_path)
    victim = folder / "a-copy.jpg"
    _index_changing(folder, tmp_path / "cat", model_path, lambda: victim.write_bytes(victim.read_bytes()[:3000]))
    with Catalog(tmp_path / "cat", root=folder) as catalog:
        Indexer(folder, catalog, model_path=model_path).run()
        files = catalog.files_by_raw_path()
    assert files[f"z-{pictures[0].name}".encode()].status == "ok"
    assert files[b"a-copy.jpg"].status == "error"  # only the damaged file itself


def _run_bytes(*args, home, cwd=None):
    env = dict(os.environ, FASHIONSIM_HOME=str(home), PYTHONPATH=str(REPO))
    return subprocess.run([os.fsencode(sys.executable), b"-m", b"fashionsim_desktop",
                           *[a if isinstance(a, bytes) else os.fsencode(str(a)) for a in args]],
                          capture_output=True, env=env, timeout=300, cwd=cwd)


def test_names_that_display_alike_are_two_files_and_raw_names_work_on_the_command_line(tmp_path, isolated_home,
                                                                                      model_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    first, second, third = some_hm_images(3, skip=40)
    root = os.fsencode(str(folder))
    latin1, backslash, copy = b"caf\xe9.jpg", b"caf\\xe9.jpg", b"copy-\xe9.jpg"  # the first two display alike
    shutil.copyfile(first, root + b"/" + latin1)
    shutil.copyfile(second, root + b"/" + backslash)
    shutil.copyfile(first, root + b"/" + copy)
    shutil.copyfile(third, folder / "plain.jpg")
    run("index", folder, home=isolated_home)
    with Catalog(next((isolated_home / "catalogs").iterdir())) as catalog:
        files = catalog.files_by_raw_path()
    assert files[latin1].sha256 != files[backslash].sha256
    assert files[latin1].sha256 == files[copy].sha256 and len(files) == 4

    # Raw-byte arguments, relative or absolute, name exactly their file; the output is readable text.
    result = _run_bytes(b"decide", latin1, root + b"/" + copy, b"merge", home=isolated_home)
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr and b"caf\\xe9.jpg" in result.stdout
    result = _run_bytes(b"keeper", copy, home=isolated_home)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "merges.json"
    run("export", "--out", out, home=isolated_home)
    merges = json.loads(out.read_text())["merges"]
    assert len(merges) == 1 and merges[0]["keeper_sha256"] == merges[0]["duplicate_sha256"] == files[copy].sha256
    assert merges[0]["keeper_path"] == "copy-\\xe9.jpg" and merges[0]["duplicate_path"] == "caf\\xe9.jpg"
    # The literal-backslash name given as text is the other file.
    result = _run_bytes(b"decide", backslash, b"plain.jpg", b"keep", home=isolated_home)
    assert result.returncode == 0, result.stderr
    with Catalog(next((isolated_home / "catalogs").iterdir())) as catalog:
        decided = {k: d["decision"] for k, d in catalog.decisions().items()}
    assert decided[tuple(sorted((files[backslash].sha256, files[b"plain.jpg"].sha256)))] == "keep"


def test_the_chosen_keeper_among_byte_copies_is_the_exported_keeper(small_catalog_folder, tmp_path, isolated_home,
                                                                   model_path):
    run("index", small_catalog_folder, home=isolated_home)
    exact = next(p for p in json.loads(run("pairs", "--format", "json", home=isolated_home).stdout)
                 if p["kind"] == "exact")
    run("decide", exact["path_a"], exact["path_b"], "merge", home=isolated_home)
    default = list(csv.DictReader(_export(tmp_path / "before.csv", isolated_home)))[0]["keeper_path"]
    chosen = exact["path_b"] if default == exact["path_a"] else exact["path_a"]
    run("keeper", small_catalog_folder / chosen, home=isolated_home)  # an absolute path works too
    rows = list(csv.DictReader(_export(tmp_path / "after.csv", isolated_home)))
    assert [(r["keeper_path"], r["duplicate_path"]) for r in rows] == [(chosen, default)]
    assert f"keeper {chosen} (chosen)" in run("groups", home=isolated_home).stdout


def _export(path, home):
    run("export", "--out", path, home=home)
    return path.open(newline="")


def test_a_relative_catalogue_folder_is_remembered_as_absolute(small_catalog_folder, tmp_path, isolated_home,
                                                               model_path):
    work = tmp_path / "work"
    work.mkdir()
    result = _run_bytes(b"index", str(small_catalog_folder).encode(), b"--catalog", b"relcat", home=isolated_home,
                        cwd=work)
    assert result.returncode == 0, result.stderr
    remembered = (isolated_home / "last_catalog.txt").read_text().strip()
    assert remembered == str(work / "relcat")
    assert run("pairs", home=isolated_home).returncode == 0  # from another working folder
