"""The accuracy benchmark's ground truth: which files are the same photo, and how FashionSim's pairs are counted.

A benchmark is only as honest as its labels, so these run on real shared images like the product's tests.
"""
from __future__ import annotations

import shutil

from PIL import Image

from benchmarks.accuracy import file_pairs, reused_photos
from benchmarks.dataset import _split_of, myntra_products, reused_photo_groups

from .conftest import SHARED


def test_a_colourway_photographed_alike_is_not_a_reused_photo_but_a_copy_is(tmp_path):
    # Gold and silver rings, laid out identically: same grey levels, different colour (H&M 0933409, a colourway).
    originals = tmp_path / "originals"
    originals.mkdir()
    for article in ("0933409001", "0933409002"):
        shutil.copyfile(SHARED / "hm_dev" / "images" / "093" / f"{article}.jpg", originals / f"{article}.jpg")
    Image.open(originals / "0933409001.jpg").save(originals / "reencoded.jpg", quality=80)
    files = sorted(f"originals/{p.name}" for p in originals.iterdir())
    assert reused_photos(tmp_path, files) == [("originals/0933409001.jpg", "originals/reencoded.jpg")]


def test_the_sources_reused_photos_are_found_and_kept_whole_in_one_half():
    groups = reused_photo_groups(myntra_products())
    assert len(groups) == 18  # SOURCE.txt: "some different ids share one photo"
    for group in groups:
        first = group[0][1].read_bytes()
        assert all(path.read_bytes() == first for _, path in group)
    halves = {_split_of(group[0][0]) for group in groups}
    assert halves == {"tune", "check"}


def test_a_content_pair_counts_for_every_byte_copy_of_either_side():
    pairs = [
        {"path_a": "a.jpg", "path_b": "a-copy.jpg", "sha256_a": "A", "sha256_b": "A", "score": 1.0},
        {"path_a": "a.jpg", "path_b": "a-cropped.jpg", "sha256_a": "A", "sha256_b": "C", "score": 0.9},
    ]
    assert file_pairs(pairs) == [("a-copy.jpg", "a-cropped.jpg", 0.9), ("a-copy.jpg", "a.jpg", 1.0),
                                 ("a-cropped.jpg", "a.jpg", 0.9)]
