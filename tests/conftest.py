"""Shared fixtures: real images from ../shared/data copied to temporary folders, the real ONNX model."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
MODEL = REPO / "models" / "fashionsim-embedder.onnx"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Each test gets its own per-user data folder: no test sees another's catalogues."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("FASHIONSIM_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def model_path() -> Path:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run the set-up (python models/export_onnx.py) first")
    return MODEL


def hm_image(article_id: str) -> Path:
    return SHARED / "hm_dev" / "images" / article_id[:3] / f"{article_id}.jpg"


def hm_colourway_group(min_size: int = 3) -> list[Path]:
    """Paths of one H&M product in several colours (similar, not duplicates)."""
    import csv
    from collections import defaultdict

    groups = defaultdict(list)
    with open(SHARED / "hm_dev" / "articles.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            path = hm_image(row["article_id"])
            if path.exists():
                groups[row["product_code"]].append(path)
    for code in sorted(groups):
        if len(groups[code]) >= min_size:
            return groups[code][:min_size]
    raise AssertionError("no colourway group in the shared data")


def some_hm_images(n: int, skip: int = 0) -> list[Path]:
    return sorted((SHARED / "hm_dev" / "images").rglob("*.jpg"))[skip:skip + n]


@pytest.fixture
def small_catalog_folder(tmp_path) -> Path:
    """Real packshots: 12 originals, a colourway group, and planted near duplicates and a byte copy."""
    from PIL import Image, ImageOps

    folder = tmp_path / "catalogue"
    (folder / "a" / "b").mkdir(parents=True)
    originals = some_hm_images(12, skip=200)
    for p in originals:
        shutil.copyfile(p, folder / "a" / p.name)
    for p in hm_colourway_group():
        shutil.copyfile(p, folder / "a" / "b" / f"colour-{p.name}")
    first, second, third = originals[0], originals[1], originals[2]
    shutil.copyfile(first, folder / "copy-of-first.jpg")
    with Image.open(second) as im:
        ImageOps.mirror(im).save(folder / "second-mirrored.png")
    with Image.open(third) as im:
        w, h = im.size
        im.crop((20, 30, w - 15, h - 40)).save(folder / "third-cropped.jpg", quality=80)
    return folder
