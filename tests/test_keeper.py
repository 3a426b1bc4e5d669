"""The keeper policy on real packshots: the original stays, whatever copy of it was made, and the reason says why.

The copies are given an older modification time than the original, so that no test passes on age alone (and the
old rule, "most pixels, then largest file, then oldest", keeps the copy in most of them).
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil

import pytest
from PIL import Image, ImageDraw, ImageFont, ImageOps

from fashionsim_desktop.core import keeper
from fashionsim_desktop.core.review import Member
from fashionsim_desktop.store.catalog import Catalog

from .conftest import hm_image
from .test_cli import run

ARTICLE = "0933889001"  # a printed sweatshirt: its print reads backwards in a mirrored copy
ORIGINAL = f"{ARTICLE}.jpg"
COPIES_TIME = 1_600_000_000  # older than the original: age must not be what decides


def _text_overlay(im: Image.Image) -> Image.Image:
    out = im.copy()
    draw = ImageDraw.Draw(out)
    draw.text((20, 24), "SALE -30%", fill=(200, 0, 0), font=ImageFont.load_default(size=28))
    draw.ellipse([out.width - 60, 16, out.width - 16, 60], fill=(30, 30, 30))  # a logo badge
    return out


def _tinted(im: Image.Image) -> Image.Image:
    """The studio background (the colour of the border, give or take) painted a warm beige."""
    import numpy as np

    rgb = np.asarray(im).astype(np.int16)
    border = np.median(np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]), axis=0)
    background = np.abs(rgb - border).max(axis=2) <= 14
    rgb[background] = (238, 222, 196)
    return Image.fromarray(rgb.astype(np.uint8))


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keeper") / "photos"
    (folder / "edits").mkdir(parents=True)
    shutil.copyfile(hm_image(ARTICLE), folder / ORIGINAL)
    with Image.open(folder / ORIGINAL) as im:
        im = im.convert("RGB")
        w, h = im.size
        _text_overlay(ImageOps.mirror(im)).save(folder / "edits" / "mirrored-sale.jpg", quality=90)
        ImageOps.mirror(im).save(folder / "edits" / "mirrored-same-quality.jpg", quality=75)
        _tinted(im).save(folder / "edits" / "tinted.jpg", quality=90)
        im.resize((w * 2, h * 2), Image.Resampling.BICUBIC).save(folder / "edits" / "upscaled.png")
        im.crop((30, 44, w - 26, h - 50)).save(folder / "edits" / "cropped.jpg", quality=90)
        ImageOps.expand(im, border=40, fill=(255, 255, 255)).save(folder / "edits" / "padded.jpg", quality=90)
    for copy in (folder / "edits").iterdir():
        os.utime(copy, (COPIES_TIME, COPIES_TIME))
    return folder


def member(folder, rel: str) -> Member:
    path = folder / rel
    data = path.read_bytes()
    with Image.open(path) as im:
        width, height, fmt = im.width, im.height, im.format
    st = path.stat()
    return Member(rel, hashlib.sha256(data).hexdigest(), width, height, st.st_size, st.st_mtime_ns, rel.encode(), fmt)


def choose(folder, *rels: str, policy: keeper.Policy | None = None) -> keeper.KeeperChoice:
    return keeper.choose([member(folder, r) for r in rels], keeper.Context(str(folder), policy))


@pytest.mark.parametrize("copy, reason", [
    ("edits/mirrored-sale.jpg", "the other is a mirrored copy with a text overlay"),
    ("edits/tinted.jpg", "the other is a copy on a tinted background"),
    ("edits/upscaled.png", "the other is an upscaled copy saved as PNG"),
    ("edits/cropped.jpg", "the other is a cropped copy"),
    ("edits/padded.jpg", "the other is a padded copy"),
])
def test_the_original_is_kept_and_the_edit_named(photos, copy, reason):
    for order in ((copy, ORIGINAL), (ORIGINAL, copy)):  # whichever way round the pair comes
        choice = choose(photos, *order)
        assert choice.keeper.path == ORIGINAL
        assert choice.reason == f"keeper {ORIGINAL}: {reason}"


def test_a_group_of_copies_names_each_one(photos):
    choice = choose(photos, "edits/upscaled.png", ORIGINAL, "edits/mirrored-sale.jpg", "edits/cropped.jpg")
    assert choice.keeper.path == ORIGINAL
    assert "upscaled.png is an upscaled copy" in choice.reason
    assert "mirrored-sale.jpg is a mirrored copy with a text overlay" in choice.reason
    assert "cropped.jpg is a cropped copy" in choice.reason


def test_native_resolution_alone_sees_the_upscaled_copy(photos):
    choice = choose(photos, "edits/upscaled.png", ORIGINAL, policy=keeper.Policy(order=("resolution",)))
    assert choice.keeper.path == ORIGINAL and choice.reason.endswith("the other is an upscaled copy")


def test_a_mirror_image_that_nothing_tells_apart_is_said_so(photos):
    # Saved with the very quantisation table of the original: no trace says which way round is right.
    choice = choose(photos, "edits/mirrored-same-quality.jpg", ORIGINAL)
    assert choice.reason.endswith("(the other is its mirror image; which one is the original could not be told)")
    assert choice.keeper.path == "edits/mirrored-same-quality.jpg"  # the older file, by the next criterion
    assert "oldest file" in choice.reason


def test_a_reference_folder_wins(photos):
    policy = keeper.Policy(reference_folders=("edits",))
    choice = choose(photos, ORIGINAL, "edits/mirrored-sale.jpg", policy=policy)
    assert choice.keeper.path == "edits/mirrored-sale.jpg"
    assert choice.reason == "keeper mirrored-sale.jpg: in a reference folder"
    absolute = keeper.Policy(reference_folders=(str(photos / "edits"),))
    assert choose(photos, ORIGINAL, "edits/tinted.jpg", policy=absolute).keeper.path == "edits/tinted.jpg"


def test_product_data_and_formats_are_criteria_too(photos):
    with_data = keeper.Policy(order=("product_data", "original"))
    a, b = member(photos, ORIGINAL), member(photos, "edits/upscaled.png")
    choice = keeper.choose([a, b], keeper.Context(str(photos), with_data, has_product_data={b.sha256}))
    assert choice.keeper is b and choice.reason.endswith("it has product data")
    png_first = keeper.Policy(order=("formats",), formats=("PNG", "JPEG"))
    assert choose(photos, ORIGINAL, "edits/upscaled.png", policy=png_first).reason.endswith(
        "preferred format (PNG over JPEG)")


def test_the_policy_round_trips_through_the_catalogue(tmp_path):
    policy = keeper.Policy(order=("reference", "formats", "original"), reference_folders=("masters", "/srv/ref"),
                           formats=("PNG", "JPEG"))
    with Catalog(tmp_path / "cat") as catalog:
        assert keeper.load_policy(catalog) == keeper.Policy()  # the default when none is set
        keeper.save_policy(catalog, policy)
    with Catalog(tmp_path / "cat") as catalog:
        assert keeper.load_policy(catalog) == policy
        catalog.set_meta(keeper.POLICY_KEY, "{not json")
        assert keeper.load_policy(catalog) == keeper.Policy()  # a damaged value is never fatal
        with pytest.raises(ValueError):
            keeper.save_policy(catalog, keeper.Policy(order=("nonsense",)))


def test_pairs_export_and_the_policy_command_agree(photos, tmp_path, isolated_home, model_path):
    folder = tmp_path / "shop"
    shutil.copytree(photos, folder)
    for copy in (folder / "edits").iterdir():
        os.utime(copy, (COPIES_TIME, COPIES_TIME))
    run("index", folder, home=isolated_home)
    pairs = json.loads(run("pairs", "--format", "json", "--min-score", "0.3", home=isolated_home).stdout)
    mirrored = next(p for p in pairs if {p["path_a"], p["path_b"]} == {ORIGINAL, "edits/mirrored-sale.jpg"})
    assert mirrored["keeper"] == ORIGINAL
    assert mirrored["keeper_reason"] == f"keeper {ORIGINAL}: the other is a mirrored copy with a text overlay"
    assert all("keeper" in p and "keeper_reason" in p for p in pairs)

    for copy in ("edits/mirrored-sale.jpg", "edits/upscaled.png"):
        run("decide", ORIGINAL, copy, "merge", home=isolated_home)
    rows = _export(tmp_path / "merges.csv", isolated_home)
    assert {r["duplicate_path"] for r in rows} == {"edits/mirrored-sale.jpg", "edits/upscaled.png"}
    assert {r["keeper_path"] for r in rows} == {ORIGINAL}
    assert "mirrored-sale.jpg is a mirrored copy with a text overlay" in rows[0]["keeper_reason"]
    assert "why:" in run("groups", home=isolated_home).stdout

    out = run("keeper-policy", "--set", "reference,original,oldest", "--reference-folder", "edits",
              "--formats", "png,jpg", home=isolated_home).stdout
    assert "Saved." in out and "Reference folders: edits" in out and "PNG, JPEG" in out
    assert "1. reference" in run("keeper-policy", "--show", home=isolated_home).stdout
    rows = _export(tmp_path / "merges-2.csv", isolated_home)
    keepers = {r["keeper_path"] for r in rows}
    assert len(keepers) == 1 and keepers < {"edits/mirrored-sale.jpg", "edits/upscaled.png"}
    assert f"keeper {keepers.pop().split('/')[-1]}: in a reference folder" in rows[0]["keeper_reason"]

    run("keeper", ORIGINAL, home=isolated_home)  # the curator's own choice wins over any policy
    rows = _export(tmp_path / "merges-3.json", isolated_home)
    assert {r["keeper_path"] for r in rows} == {ORIGINAL}
    assert {r["keeper_reason"] for r in rows} == {f"keeper {ORIGINAL}: chosen by the curator"}
    assert run("keeper-policy", "--set", "original,bogus", home=isolated_home, check=False).returncode == 1


def _export(out, home) -> list[dict]:
    run("export", "--out", out, home=home)
    if out.suffix == ".json":
        return json.loads(out.read_text())["merges"]
    with open(out, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
