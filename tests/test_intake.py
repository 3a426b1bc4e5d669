"""The intake check on real packshots: copies of catalogue pictures are named with their catalogue paths, other
garments and colourways come out new, bad files are listed, and the catalogue is left exactly as it was."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from fashionsim_desktop.core.errors import Cancelled
from fashionsim_desktop.core.indexer import Indexer
from fashionsim_desktop.core.intake import check
from fashionsim_desktop.core.products import import_products
from fashionsim_desktop.core.progress import Progress
from fashionsim_desktop.core.tiers import Tier
from fashionsim_desktop.store.catalog import Catalog

from .conftest import REPO, hm_colourway_group, some_hm_images


def run(*args, home, check=True, cwd=None):
    """`fashionsim ARGS` in a process of its own, as a curator's script runs it."""
    env = dict(os.environ, FASHIONSIM_HOME=str(home), PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-m", "fashionsim_desktop", *map(str, args)], capture_output=True,
                            text=True, env=env, timeout=300, cwd=cwd)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict:
    """An indexed catalogue (with product data) and a new shoot holding copies, edits, strangers and a bad file."""
    base = tmp_path_factory.mktemp("intake")
    folder, shoot = base / "catalogue", base / "shoot"
    (folder / "a").mkdir(parents=True)
    (folder / "b").mkdir()
    (shoot / "day1").mkdir(parents=True)
    originals = some_hm_images(10, skip=300)
    for p in originals:
        shutil.copyfile(p, folder / "a" / p.name)
    shutil.copyfile(originals[0], folder / "b" / "same-bytes.jpg")  # a byte copy inside the catalogue
    colours = hm_colourway_group()
    for p in colours[:2]:
        shutil.copyfile(p, folder / "b" / p.name)

    shutil.copyfile(originals[0], shoot / "exact.jpg")
    with Image.open(originals[1]) as im:
        ImageOps.mirror(im).save(shoot / "day1" / "mirrored.png")
    with Image.open(originals[2]) as im:
        w, h = im.size
        im.crop((int(w * 0.1), int(h * 0.08), int(w * 0.9), int(h * 0.9))).save(shoot / "cropped.jpg", quality=80)
    shutil.copyfile(colours[2], shoot / "colourway.jpg")  # the same product in another colour: a new picture
    stranger = some_hm_images(1, skip=900)[0]
    shutil.copyfile(stranger, shoot / "day1" / "unrelated.jpg")
    data = originals[3].read_bytes()
    (shoot / "truncated.jpg").write_bytes(data[:len(data) // 2])

    catalog_dir = base / "catalog"
    with Catalog(catalog_dir, root=folder) as catalog:
        Indexer(folder, catalog).run()
        (base / "products.csv").write_text(f"image,product_id,sku\na/{originals[1].name},P-1,S-1|S-2\n")
        import_products(catalog, base / "products.csv")
    return {"base": base, "folder": folder, "shoot": shoot, "catalog": catalog_dir, "originals": originals}


def _state(directory: Path) -> dict:
    """Every file of a catalogue folder with its bytes and modification time (session markers come and go)."""
    return {str(p.relative_to(directory)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(directory.rglob("*")) if p.is_file() and "open-sessions" not in p.parts}


def test_copies_are_named_with_their_catalogue_paths_and_strangers_are_new(setup, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the check keeps its scratch copies
    phases = set()
    before = _state(setup["catalog"])
    with Catalog(setup["catalog"], create=False) as catalog:
        report = check(catalog, setup["shoot"], Progress(lambda status: phases.add(status.phase)))
    assert _state(setup["catalog"]) == before
    assert list(tmp_path.iterdir()) == []  # the scratch copies are gone
    assert phases == {"scan", "features", "pairs"}
    items = {item.path: item for item in report.items}
    assert set(items) == {"exact.jpg", "day1/mirrored.png", "cropped.jpg", "colourway.jpg", "day1/unrelated.jpg",
                          "truncated.jpg"}
    first, second, third = (f"a/{p.name}" for p in setup["originals"][:3])

    exact = items["exact.jpg"]
    assert exact.status == "exact" and exact.sha256
    assert [(m.path, m.tier, m.score) for m in exact.matches] == [(first, Tier.EXACT, 1.0),
                                                                 ("b/same-bytes.jpg", Tier.EXACT, 1.0)]
    mirrored = items["day1/mirrored.png"]
    assert mirrored.status == "duplicate" and [m.path for m in mirrored.matches] == [second]
    assert mirrored.matches[0].tier == Tier.DUPLICATE and mirrored.matches[0].score >= report.min_score
    assert (mirrored.matches[0].product_ids, mirrored.matches[0].skus) == (["P-1"], ["S-1", "S-2"])
    cropped = items["cropped.jpg"]
    assert cropped.status == "duplicate" and [m.path for m in cropped.matches] == [third]

    for name in ("colourway.jpg", "day1/unrelated.jpg"):
        assert (items[name].status, items[name].matches) == ("new", []), name
    truncated = items["truncated.jpg"]
    assert truncated.status == "error" and "truncated" in truncated.error
    assert report.matched and report.counts() == {"new": 2, "exact": 1, "duplicate": 2, "error": 1}


def test_a_damaged_search_index_is_rebuilt_in_memory_only(setup, tmp_path):
    catalog_dir = tmp_path / "catalog"
    shutil.copytree(setup["catalog"], catalog_dir)
    index = catalog_dir / "vectors.ann"
    index.write_bytes(index.read_bytes()[:1000])
    before = _state(catalog_dir)
    with Catalog(catalog_dir, create=False) as catalog:
        report = check(catalog, setup["shoot"])
    assert _state(catalog_dir) == before  # not repaired behind the curator's back: the check writes nothing
    assert any("damaged" in w for w in report.warnings)
    assert {i.path: i.status for i in report.items}["day1/mirrored.png"] == "duplicate"


def test_cancel_stops_the_check_and_leaves_no_scratch(setup, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    progress = Progress()
    progress.listener = lambda status: progress.token.cancel() if status.phase == "features" else None
    with Catalog(setup["catalog"], create=False) as catalog, pytest.raises(Cancelled):
        check(catalog, setup["shoot"], progress)
    assert list(tmp_path.iterdir()) == []


def test_cli_exit_codes_json_and_the_catalogue_unchanged(setup, tmp_path, isolated_home):
    before = _state(setup["catalog"])
    # Relative to the current folder, as a curator types it.
    result = run("check", "shoot", "--catalog", setup["catalog"], "--format", "json", home=isolated_home,
                 check=False, cwd=setup["base"])
    assert result.returncode == 3, result.stderr
    rows = {row["path"]: row for row in json.loads(result.stdout)}
    assert rows["exact.jpg"]["status"] == "exact"
    assert rows["cropped.jpg"]["matches"][0] == {
        "path": f"a/{setup['originals'][2].name}", "sha256": rows["cropped.jpg"]["matches"][0]["sha256"],
        "score": rows["cropped.jpg"]["matches"][0]["score"], "tier": "duplicate", "product_ids": [], "skus": []}
    assert (rows["colourway.jpg"]["status"], rows["colourway.jpg"]["error"]) == ("new", None)
    assert rows["truncated.jpg"]["status"] == "error" and "truncated" in rows["truncated.jpg"]["error"]
    assert "1 exact and 2 edited copies of catalogue pictures" in result.stderr

    nothing_known = tmp_path / "new-only"
    nothing_known.mkdir()
    shutil.copyfile(setup["shoot"] / "colourway.jpg", nothing_known / "colourway.jpg")
    shutil.copyfile(setup["shoot"] / "day1" / "unrelated.jpg", nothing_known / "unrelated.jpg")
    result = run("check", nothing_known, "--catalog", setup["catalog"], home=isolated_home, check=False)
    assert result.returncode == 0, result.stderr
    assert "new        colourway.jpg" in result.stdout and "0 exact and 0 edited copies" in result.stdout

    result = run("check", tmp_path / "no-such-folder", "--catalog", setup["catalog"], home=isolated_home, check=False)
    assert result.returncode == 1 and "does not exist" in result.stderr and "Traceback" not in result.stderr
    assert _state(setup["catalog"]) == before


def test_add_indexes_a_shoot_inside_the_catalogue_folder_and_refuses_one_outside(tmp_path, isolated_home):
    folder = tmp_path / "catalogue"
    folder.mkdir()
    for p in some_hm_images(3, skip=500):
        shutil.copyfile(p, folder / p.name)
    catalog_dir = tmp_path / "catalog"
    run("index", folder, "--catalog", catalog_dir, home=isolated_home)

    outside = tmp_path / "shoot"
    outside.mkdir()
    shutil.copyfile(some_hm_images(1, skip=700)[0], outside / "new.jpg")
    before = _state(catalog_dir)
    result = run("check", outside, "--catalog", catalog_dir, "--add", home=isolated_home, check=False)
    assert result.returncode == 1 and "move the shoot into that folder first" in result.stderr
    assert result.stdout == "" and _state(catalog_dir) == before

    inside = folder / "shoot-2"
    shutil.copytree(outside, inside)
    result = run("check", inside, "--catalog", catalog_dir, "--add", home=isolated_home, check=False)
    assert result.returncode == 0, result.stderr
    assert "new        new.jpg" in result.stdout and "Indexed 4 files" in result.stdout
    with Catalog(catalog_dir, create=False) as catalog:
        assert "shoot-2/new.jpg" in {f["path"] for f in catalog.present_files()}
    # Checked again, the shoot is now in the catalogue.
    result = run("check", inside, "--catalog", catalog_dir, home=isolated_home, check=False)
    assert result.returncode == 3 and "exact      new.jpg  ->  shoot-2/new.jpg" in result.stdout


def test_an_empty_catalogue_folder_has_nothing_to_match(tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    shutil.copyfile(some_hm_images(1)[0], shoot / "one.jpg")
    with Catalog(tmp_path / "catalog") as catalog:
        report = check(catalog, shoot)
    assert [(i.path, i.status) for i in report.items] == [("one.jpg", "new")] and not report.matched
