"""The replace map and the variant groups, from a real indexed catalogue with the real H&M product data."""
from __future__ import annotations

import csv
import json
import shutil

from PIL import Image

from .conftest import SHARED, hm_colourway_group, some_hm_images
from .test_cli import run

ARTICLES = SHARED / "hm_dev" / "articles.csv"


def test_replace_map_and_variant_groups(tmp_path, isolated_home, model_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    colourways = hm_colourway_group(3)  # one product_code in three colours
    others = some_hm_images(4, skip=700)
    for p in colourways + others:
        shutil.copyfile(p, folder / p.name)
    with Image.open(others[0]) as im:  # an edited copy: its own file name, no product row of its own
        im.resize((im.width * 3 // 4, im.height * 3 // 4)).save(folder / "web-copy.jpg", quality=80)
    cat = ("--catalog", tmp_path / "cat")
    run("index", folder, *cat, home=isolated_home)
    run("metadata", "import", ARTICLES, *cat, home=isolated_home)
    pair = next(p for p in json.loads(run("pairs", "--format", "json", *cat, home=isolated_home).stdout)
                if "web-copy.jpg" in (p["path_a"], p["path_b"]))
    run("decide", pair["path_a"], pair["path_b"], "merge", *cat, home=isolated_home)

    out = tmp_path / "replace.csv"
    assert "Wrote 1 replacements" in run("export", "--what", "replace-map", "--out", out, *cat,
                                         home=isolated_home).stdout
    (row,) = list(csv.DictReader(out.open(newline="")))
    original = others[0].name
    assert {row["from_path"], row["to_path"]} == {"web-copy.jpg", original}
    side = "to" if row["to_path"] == original else "from"
    assert row[f"{side}_product_id"] == others[0].stem and row[f"{side}_image_key"] == others[0].stem
    assert row["from_uri"].startswith("file://") and row["to_uri"].endswith(row["to_path"])

    groups = tmp_path / "variants.json"
    run("export", "--what", "variant-groups", "--out", groups, *cat, home=isolated_home)
    rows = json.loads(groups.read_text())["variant_groups"]
    code_of = {r["article_id"]: r["product_code"] for r in csv.DictReader(ARTICLES.open(newline="", encoding="utf-8"))}
    expected: dict[str, set] = {}
    for p in colourways + others:
        expected.setdefault(code_of[p.stem], set()).add(p.name)
    expected = {code: names for code, names in expected.items() if len(names) > 1}
    found: dict[str, set] = {}
    for r in rows:
        found.setdefault(r["product_group"], set()).add(r["path"])
    assert found == expected and code_of[colourways[0].stem] in found  # the three colours are one group
    assert len({r["variant_group_id"] for r in rows}) == len(expected)
    colours = {r["colour"] for r in rows if r["product_group"] == code_of[colourways[0].stem]}
    assert len(colours) == 3
    again = run("export", "--what", "variant-groups", "--out", groups, *cat, home=isolated_home, check=False)
    assert again.returncode == 1 and "--force" in again.stderr
