"""The pair verifier on real packshots: sketches, their storage, and the evidence they give."""
from __future__ import annotations

import sqlite3

from PIL import Image, ImageDraw, ImageOps

from fashionsim_desktop.core.imaging import decode_file
from fashionsim_desktop.core.indexer import Indexer
from fashionsim_desktop.core.pairs import DEFAULT_MIN_SCORE, MIN_INLIERS, score
from fashionsim_desktop.core.review import list_pairs
from fashionsim_desktop.core.verify import (SKETCHER, Prepared, make_sketch, sketch_from_blobs, sketch_to_blobs,
                                            verify)
from fashionsim_desktop.store.catalog import Catalog

from .conftest import hm_colourway_group, some_hm_images


def _work(path) -> Image.Image:
    return decode_file(str(path)).image


def _variant(tmp_path, name, edit):
    src = some_hm_images(1, skip=40)[0]
    with Image.open(src) as im:
        out = edit(im.convert("RGB"))
    path = tmp_path / name
    out.save(path, quality=85)
    return Prepared.from_image(_work(src)), Prepared.from_image(_work(path))


def test_a_stored_sketch_gives_the_same_evidence_as_the_picture(tmp_path):
    original, cropped = _variant(tmp_path, "crop.jpg", lambda im: im.crop((40, 60, im.width - 30, im.height - 90)))
    src = some_hm_images(1, skip=40)[0]
    stored = sketch_from_blobs(sketch_to_blobs(make_sketch(_work(src))))
    from_store = Prepared(stored)
    direct, via_store = verify(original, cropped), verify(from_store, cropped)
    assert abs(direct.inliers - via_store.inliers) <= 3  # float16 positions move a point by < 0.1 px
    assert score(direct) >= DEFAULT_MIN_SCORE and score(via_store) >= DEFAULT_MIN_SCORE
    with Image.open(src) as im:
        long_side = max(im.size)
        cropped_long_side = max(im.width - 70, im.height - 150)
    # Both working copies have the same long side, so the crop appears magnified by this much.
    assert abs(direct.scale - cropped_long_side / long_side) < 0.02


def test_mirrored_copy_is_found_only_through_the_mirrored_match(tmp_path):
    original, mirrored = _variant(tmp_path, "mirror.jpg", ImageOps.mirror)
    ev = verify(original, mirrored)
    assert ev.mirrored and score(ev) >= DEFAULT_MIN_SCORE
    without = verify(original, mirrored, try_mirror=False)
    assert not without.mirrored and score(without) < score(ev)


def test_a_sticker_disagrees_locally_and_keeps_the_pair(tmp_path):
    def sticker(im):
        im = im.copy()
        ImageDraw.Draw(im).rectangle([20, 20, im.width // 3, im.height // 8], fill=(200, 0, 0))
        return im

    original, stickered = _variant(tmp_path, "sticker.jpg", sticker)
    ev = verify(original, stickered)
    assert ev.agree < 0.9 and ev.spread < 0.5  # disagreement, but in a few grid cells only
    assert score(ev) >= DEFAULT_MIN_SCORE


def test_colourways_and_other_garments_are_not_duplicates():
    group = [Prepared.from_image(_work(p)) for p in hm_colourway_group()]
    for other in group[1:]:
        assert score(verify(group[0], other)) < DEFAULT_MIN_SCORE
    unrelated = [Prepared.from_image(_work(p)) for p in some_hm_images(2, skip=300)]
    ev = verify(unrelated[0], unrelated[1])
    assert score(ev) < 0.1


def test_pixels_are_compared_only_with_enough_matching_details():
    a, b = (Prepared.from_image(_work(p)) for p in some_hm_images(2, skip=300))
    ev = verify(a, b, compare_from=MIN_INLIERS)
    if ev.inliers < MIN_INLIERS:
        assert not ev.compared and score(ev) == 0.0
    same = verify(a, a, compare_from=MIN_INLIERS)
    assert same.compared and same.inliers >= MIN_INLIERS and score(same) > 0.95


def test_indexing_stores_sketches_and_remakes_missing_ones(small_catalog_folder, tmp_path, model_path):
    catalog_dir = tmp_path / "cat"
    with Catalog(catalog_dir) as catalog:
        Indexer(small_catalog_folder, catalog, model_path=model_path, workers=2).run()
        before = sorted((p.path_a, p.path_b, round(p.score, 3)) for p in list_pairs(catalog))
    db = sqlite3.connect(catalog_dir / "catalog.sqlite")
    stored = db.execute("SELECT count(*), min(length(descriptors)), max(length(thumb)) FROM sketches "
                        "WHERE sketcher=?", [SKETCHER]).fetchone()
    pictures = db.execute("SELECT count(*) FROM images").fetchone()[0]
    assert stored[0] == pictures and stored[1] > 0 and stored[2] < 20_000
    # A catalogue from before sketches (or from another sketch recipe): the pairs phase makes them again.
    with db:
        db.execute("DELETE FROM sketches")
        db.execute("DELETE FROM verified")
    db.close()
    with Catalog(catalog_dir) as catalog:
        Indexer(small_catalog_folder, catalog, model_path=model_path, workers=2).run()
        after = sorted((p.path_a, p.path_b, round(p.score, 3)) for p in list_pairs(catalog))
        remade = catalog.db.execute("SELECT count(*) FROM sketches").fetchone()[0]
    assert after == before
    assert remade > 0


def test_a_version_1_catalogue_gains_the_sketch_table(tmp_path):
    with Catalog(tmp_path / "cat") as catalog:
        catalog.db.execute("DROP TABLE sketches")
        catalog.db.execute("PRAGMA user_version=1")
    with Catalog(tmp_path / "cat") as catalog:
        assert "sketches" in catalog.db.table_names()
        assert catalog.db.execute("PRAGMA user_version").fetchone()[0] == 2
