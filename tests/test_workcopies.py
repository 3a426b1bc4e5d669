"""Working copies handed from the feature workers to the verification workers (core/workcopies.py)."""
from __future__ import annotations

import numpy as np

from fashionsim_desktop.core import verify_worker, workcopies
from fashionsim_desktop.core.imaging import decode_file
from fashionsim_desktop.core.indexer import Indexer
from fashionsim_desktop.core.progress import Progress
from fashionsim_desktop.core.workcopies import BYTES_PER_PICTURE, WorkingCopies
from fashionsim_desktop.store.catalog import Catalog

from .conftest import some_hm_images

SHA = "ab" + "0" * 62


def test_a_kept_copy_reads_back_identical_and_a_damaged_one_not_at_all(tmp_path):
    copies = WorkingCopies(tmp_path / "copies")
    rgb = np.asarray(decode_file(str(some_hm_images(1)[0])).image)
    assert copies.get(SHA) is None
    assert copies.put(SHA, rgb)
    assert np.array_equal(copies.get(SHA), rgb)
    stored = copies._path(SHA)
    stored.write_bytes(stored.read_bytes()[:5000])  # cut short, as by a crash or a full disk
    assert copies.get(SHA) is None
    copies.clear()
    assert not (tmp_path / "copies").exists()


def test_capacity_stays_within_the_budget_and_is_zero_where_nothing_can_be_written(tmp_path):
    assert WorkingCopies(tmp_path / "copies").capacity(budget=3 * BYTES_PER_PICTURE) == 3
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert WorkingCopies(blocker / "copies").capacity() == 0
    assert WorkingCopies(blocker / "copies").put(SHA, np.zeros((4, 4, 3), np.uint8)) is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "copies"]  # no partial file anywhere


def test_the_verification_worker_uses_the_copy_instead_of_decoding(tmp_path):
    copies = WorkingCopies(tmp_path / "copies")
    copies.put(SHA, np.asarray(decode_file(str(some_hm_images(1)[0])).image))
    gone = str(tmp_path / "moved-away.jpg")
    verify_worker.init_worker(None)
    assert verify_worker._prepared(SHA, gone) is None  # without a copy the picture must be decoded
    verify_worker.init_worker(str(copies.directory))
    prepared = verify_worker._prepared(SHA, gone)
    assert prepared is not None and len(prepared.points) > 50


def _verified(catalog_dir):
    with Catalog(catalog_dir) as catalog:
        return catalog.db.execute("SELECT sha_a, sha_b, score, evidence FROM verified ORDER BY 1, 2").fetchall()


def test_an_index_run_hands_over_every_picture_and_verifies_exactly_as_without(small_catalog_folder, tmp_path,
                                                                               model_path, monkeypatch):
    kept_at_pairs = []

    def count_copies(status, directory=tmp_path / "with" / workcopies.DIRECTORY_NAME):
        if status.phase == "pairs" and not kept_at_pairs:
            kept_at_pairs.append(len(list(directory.rglob("*.npy"))))

    progress = Progress()
    progress.listener = count_copies
    with Catalog(tmp_path / "with", root=small_catalog_folder) as catalog:
        report = Indexer(small_catalog_folder, catalog, model_path=model_path).run(progress)
    assert kept_at_pairs == [report.pictures_decoded]
    assert not (tmp_path / "with" / workcopies.DIRECTORY_NAME).exists()  # scratch is gone after the run

    monkeypatch.setattr(workcopies, "BUDGET_BYTES", 0)  # no copies: every picture is decoded again
    with Catalog(tmp_path / "without", root=small_catalog_folder) as catalog:
        Indexer(small_catalog_folder, catalog, model_path=model_path).run()
    with_copies = _verified(tmp_path / "with")
    assert len(with_copies) >= 5 and with_copies == _verified(tmp_path / "without")
