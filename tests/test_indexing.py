"""The pipeline on real packshots, a real ONNX model and a real SQLite file."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from fashionsim_desktop.core.errors import Cancelled, FolderError
from fashionsim_desktop.core.indexer import Indexer
from fashionsim_desktop.core.pairs import worth_verifying
from fashionsim_desktop.core.progress import Progress
from fashionsim_desktop.core.review import decide, list_pairs, merge_groups
from fashionsim_desktop.store.catalog import Catalog

from .conftest import some_hm_images


def index(folder, catalog_dir, model_path, progress=None):
    with Catalog(catalog_dir, root=folder) as catalog:
        report = Indexer(folder, catalog, model_path=model_path).run(progress)
        return report, list_pairs(catalog)


def cancelled_during(phase: str) -> Progress:
    """A progress whose user presses Cancel once `phase` has done some of its work."""
    progress = Progress()

    def cancel(status):
        if status.phase == phase and status.done > 0:
            progress.token.cancel()

    progress.listener = cancel
    return progress


def pair_names(pairs):
    return {frozenset((os.path.basename(p.path_a), os.path.basename(p.path_b))) for p in pairs}


def test_finds_planted_duplicates_and_not_colourways(small_catalog_folder, tmp_path, model_path):
    report, pairs = index(small_catalog_folder, tmp_path / "cat", model_path)
    names = pair_names(pairs)
    first, second, third = sorted(p.name for p in (small_catalog_folder / "a").glob("*.jpg")
                                  if not p.name.startswith("colour-"))[:3]
    assert frozenset(("copy-of-first.jpg", first)) in names
    assert frozenset(("second-mirrored.png", second)) in names
    assert frozenset(("third-cropped.jpg", third)) in names
    assert not any(all(n.startswith("colour-") for n in pair) for pair in names), "a colourway was proposed"
    exact = [p for p in pairs if p.kind == "exact"]
    assert len(exact) == 1 and exact[0].score == 1.0
    mirrored = next(p for p in pairs if "second-mirrored.png" in (os.path.basename(p.path_a), os.path.basename(p.path_b)))
    assert mirrored.evidence["mirrored"] is True
    for key in ("cosine", "phash_distance", "dhash_distance", "inliers"):
        assert key in mirrored.evidence
    assert report.pictures_decoded == len(list(small_catalog_folder.rglob("*.*"))) - 1  # the byte copy is not decoded


def test_rescan_decodes_nothing_and_rename_keeps_decisions(small_catalog_folder, tmp_path, model_path):
    _, pairs = index(small_catalog_folder, tmp_path / "cat", model_path)
    crop = next(p for p in pairs if "third-cropped.jpg" in (p.path_a, p.path_b))
    with Catalog(tmp_path / "cat") as catalog:
        decide(catalog, crop.sha_a, crop.sha_b, "merge")
    report, _ = index(small_catalog_folder, tmp_path / "cat", model_path)
    assert report.pictures_decoded == 0 and report.files_new_or_changed == 0
    # Rename and move the cropped copy: known content, nothing decoded, the decision stays.
    (small_catalog_folder / "moved").mkdir()
    os.rename(small_catalog_folder / "third-cropped.jpg", small_catalog_folder / "moved" / "renamed.jpg")
    report, pairs = index(small_catalog_folder, tmp_path / "cat", model_path)
    assert report.pictures_decoded == 0 and report.files_missing == 1
    moved = next(p for p in pairs if "moved/renamed.jpg" in (p.path_a, p.path_b))
    assert moved.decision == "merge"
    with Catalog(tmp_path / "cat") as catalog:
        assert catalog.counts()["missing"] == 1
        groups = merge_groups(catalog)
    assert len(groups) == 1 and {m.path for m in groups[0].members} >= {"moved/renamed.jpg"}


def test_changed_file_is_reindexed(small_catalog_folder, tmp_path, model_path):
    index(small_catalog_folder, tmp_path / "cat", model_path)
    with Catalog(tmp_path / "cat") as catalog:
        first_seen = catalog.files_by_raw_path()[b"copy-of-first.jpg"].first_seen
    shutil.copyfile(small_catalog_folder / "second-mirrored.png", small_catalog_folder / "copy-of-first.jpg")
    report, pairs = index(small_catalog_folder, tmp_path / "cat", model_path)
    assert report.files_new_or_changed == 1
    assert report.pictures_decoded == 0  # its new content is a picture already known
    with Catalog(tmp_path / "cat") as catalog:
        row = catalog.files_by_raw_path()[b"copy-of-first.jpg"]
    assert row.first_seen == first_seen and row.status == "ok"
    assert not [p for p in pairs if p.kind == "exact" and "copy-of-first.jpg" in (p.path_a, p.path_b)
                and "second" not in p.path_a + p.path_b]


def test_other_model_forces_reembedding(small_catalog_folder, tmp_path, model_path):
    report, _ = index(small_catalog_folder, tmp_path / "cat", model_path)
    with Catalog(tmp_path / "cat") as catalog:
        catalog.db.execute("UPDATE images SET model_id='an-older-model'")
    report2, _ = index(small_catalog_folder, tmp_path / "cat", model_path)
    assert report2.pictures_decoded == report.pictures_decoded
    with Catalog(tmp_path / "cat") as catalog:
        assert catalog.db.execute("SELECT count(*) FROM images WHERE model_id='an-older-model'").fetchone()[0] == 0


def test_cancel_then_resume_gives_the_same_catalogue(small_catalog_folder, tmp_path, model_path):
    _, reference = index(small_catalog_folder, tmp_path / "ref", model_path)
    with pytest.raises(Cancelled):
        index(small_catalog_folder, tmp_path / "cat", model_path, cancelled_during("features"))
    with Catalog(tmp_path / "cat") as catalog:
        partial = catalog.db.execute("SELECT count(*) FROM images").fetchone()[0]
    total = len({p for p in small_catalog_folder.rglob("*.*")}) - 1
    assert 0 < partial < total
    report, resumed = index(small_catalog_folder, tmp_path / "cat", model_path)
    assert report.pictures_decoded == total - partial  # finished work was not redone
    assert [(p.path_a, p.path_b, round(p.score, 3)) for p in resumed] == \
        [(p.path_a, p.path_b, round(p.score, 3)) for p in reference]


def test_bad_files_are_recorded_and_never_stop_the_job(tmp_path, model_path):
    from .conftest import SHARED, some_hm_images

    folder = tmp_path / "messy"
    folder.mkdir()
    for p in some_hm_images(3):
        shutil.copyfile(p, folder / p.name)
    shutil.copytree(SHARED / "format_zoo" / "mixed_images", folder / "zoo")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.png").write_text("not a picture")
    (folder / "half.jpg").write_bytes(some_hm_images(1)[0].read_bytes()[:2000])
    os.symlink(folder / "does-not-exist.jpg", folder / "dangling.jpg")
    os.symlink(folder, folder / "loop")  # a folder link back to itself
    os.symlink(folder / "self.jpg", folder / "self.jpg")
    odd_name = os.fsencode(str(folder)) + b"/caf\xe9-latin1.jpg"  # not UTF-8
    with open(odd_name, "wb") as fh:
        fh.write(some_hm_images(1, skip=5)[0].read_bytes())
    report, _ = index(folder, tmp_path / "cat", model_path)
    with Catalog(tmp_path / "cat") as catalog:
        errors = dict(catalog.file_errors())
        ok_paths = {f["path"] for f in catalog.present_files()}
    assert errors["empty.jpg"] == "empty file (0 bytes)"
    assert "not an image" in errors["notes.png"]
    assert "truncated" in errors["half.jpg"] or "corrupt" in errors["half.jpg"]
    assert "broken link" in errors["dangling.jpg"]
    assert "loop" in errors["self.jpg"]
    assert "loop" in errors["loop"]
    assert "zoo/ukbench09268_corrupt.jpg" in errors
    assert "caf\\xe9-latin1.jpg" in ok_paths  # indexed, shown with the odd byte escaped
    assert len(ok_paths) == 3 + 5 + 1


def test_missing_folder_and_file_instead_of_folder(tmp_path, model_path):
    with Catalog(tmp_path / "cat") as catalog:
        with pytest.raises(FolderError, match="does not exist"):
            Indexer(tmp_path / "nope", catalog, model_path=model_path)
        (tmp_path / "file.jpg").write_bytes(b"x")
        with pytest.raises(FolderError, match="not a folder"):
            Indexer(tmp_path / "file.jpg", catalog, model_path=model_path)


def test_only_the_nearest_neighbours_and_near_identical_ones_are_verified():
    # The 3 closest above the candidate floor, whatever order the index gave them in ...
    assert worth_verifying(np.array([0.91, 0.97, 0.93, 0.955, 0.86])) == [1, 3, 2]
    # ... and past those, only near-identical pictures.
    assert worth_verifying(np.array([0.99, 0.985, 0.98, 0.97, 0.90])) == [0, 1, 2, 3]
    assert worth_verifying(np.array([0.83, 0.90])) == [1]
    # The single nearest is verified from a lower floor: a copy cropped by a fifth on each side embeds at
    # 0.78-0.84 from its original and is still its nearest picture (benchmarks/stress.py).
    assert worth_verifying(np.array([0.70, 0.80, 0.79])) == [1]
    assert worth_verifying(np.array([0.75])) == []


def test_every_copy_of_a_photo_pairs_with_every_other(tmp_path, model_path):
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    original, *others = some_hm_images(9, skip=120)
    with Image.open(original) as im:
        im = im.convert("RGB")
        for k, (scale, quality) in enumerate([(1.0, 95), (1.0, 70), (0.8, 90), (0.6, 85), (0.9, 60), (0.7, 80)]):
            copy = im.resize((int(im.width * scale), int(im.height * scale)), Image.Resampling.BILINEAR)
            copy.save(folder / f"copy-{k}.jpg", quality=quality)
    for path in others:
        shutil.copy(path, folder / path.name)
    _, pairs = index(folder, tmp_path / "cat", model_path)
    copies = {pair for pair in pair_names(pairs) if all(n.startswith("copy-") for n in pair)}
    assert len(copies) == 15  # 6 copies: every one of their 15 pairs, not only each copy's 3 nearest


def _index_files(catalog_dir):
    """(inode, mtime) of each saved ANN index: a rebuilt index is a new file (written beside, then renamed)."""
    return {name: (os.stat(catalog_dir / name).st_ino, os.stat(catalog_dir / name).st_mtime_ns)
            for name in ("vectors.ann", "products.ann")}


def test_an_unchanged_folder_keeps_its_indexes_and_a_new_copy_is_still_found(small_catalog_folder, tmp_path,
                                                                            model_path):
    from PIL import Image, ImageOps

    _, first = index(small_catalog_folder, tmp_path / "cat", model_path)
    saved = _index_files(tmp_path / "cat")
    report, again = index(small_catalog_folder, tmp_path / "cat", model_path)
    assert report.pictures_decoded == 0 and report.pairs_verified == 0
    assert _index_files(tmp_path / "cat") == saved  # neither index was built again
    assert [(p.path_a, p.path_b, p.score, p.tier) for p in again] == [(p.path_a, p.path_b, p.score, p.tier)
                                                                     for p in first]
    # One new picture, a mirrored copy of an original: the indexes are rebuilt and its pair is found.
    original = sorted((small_catalog_folder / "a").glob("*.jpg"))[5]
    with Image.open(original) as im:
        ImageOps.mirror(im.convert("RGB")).save(small_catalog_folder / "new-mirrored.jpg", quality=88)
    report, pairs = index(small_catalog_folder, tmp_path / "cat", model_path)
    assert report.pictures_decoded == 1
    assert all(_index_files(tmp_path / "cat")[name] != saved[name] for name in saved)
    assert frozenset(("new-mirrored.jpg", original.name)) in pair_names(pairs)


def test_a_cancel_while_pairs_are_verified_leaves_the_rest_for_the_next_run(small_catalog_folder, tmp_path,
                                                                             model_path, monkeypatch):
    from fashionsim_desktop.core import indexer

    _, reference = index(small_catalog_folder, tmp_path / "ref", model_path)
    monkeypatch.setattr(indexer, "VERIFY_CHUNK", 1)  # this small folder's few pairs in several chunks
    with pytest.raises(Cancelled):
        index(small_catalog_folder, tmp_path / "cat", model_path, cancelled_during("pairs"))
    with Catalog(tmp_path / "cat") as catalog:
        partial = catalog.db.execute("SELECT count(*) FROM verified").fetchone()[0]
    report, resumed = index(small_catalog_folder, tmp_path / "cat", model_path)
    assert partial > 0 and report.pairs_verified > 0  # the cancel came between chunks; the rest is done now
    assert [(p.path_a, p.path_b, round(p.score, 3)) for p in resumed] == \
        [(p.path_a, p.path_b, round(p.score, 3)) for p in reference]
