"""Product data from the catalogue system (the real H&M articles.csv and Myntra styles.csv) on real pictures:
mapping, import before or after indexing, renames, pairs JSON, the merge list and shared photos."""
from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from fashionsim_desktop.core.indexer import Indexer
from fashionsim_desktop.core.products import (Mapping, ProductDataError, apply_overrides, detect_mapping,
                                              import_products, read_headers, read_table)
from fashionsim_desktop.store.catalog import DB_NAME, SCHEMA_VERSION, Catalog

from .conftest import SHARED, some_hm_images
from .test_cli import run

ARTICLES = SHARED / "hm_dev" / "articles.csv"
STYLES = SHARED / "myntra_dev" / "styles.csv"
MYNTRA = SHARED / "myntra_dev" / "images"
SHARED_MYNTRA = ("10683", "10684")  # two Myntra ids whose photos are byte for byte the same


def articles() -> dict[str, dict]:
    with open(ARTICLES, newline="", encoding="utf-8") as fh:
        return {row["article_id"]: row for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict:
    """Real H&M packshots under hm/<prefix>/<article_id>.jpg and Myntra photos under myntra/<id>.jpg, plus a
    smaller web copy of one packshot, a byte copy of another that a shop uses as its own product's photo, and a
    third byte copy of the shared Myntra photo that no product names."""
    folder = tmp_path_factory.mktemp("products") / "photos"
    hm = some_hm_images(6, skip=300)
    for p in hm:
        (folder / "hm" / p.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, folder / "hm" / p.parent.name / p.name)
    (folder / "myntra").mkdir()
    for stem in ("10000", "10008", "10010", "10015") + SHARED_MYNTRA:
        shutil.copyfile(MYNTRA / f"{stem}.jpg", folder / "myntra" / f"{stem}.jpg")
    (folder / "web").mkdir()
    with Image.open(hm[0]) as im:
        im.resize((im.width * 3 // 4, im.height * 3 // 4)).save(folder / "web" / f"{hm[0].stem}-small.jpg", quality=85)
    (folder / "shop").mkdir()
    shutil.copyfile(hm[1], folder / "shop" / "shop-photo.jpg")
    shutil.copyfile(MYNTRA / "10683.jpg", folder / "shop" / "10683 spare copy.jpg")  # copied last: never the keeper
    feed = folder.parent / "feed.csv"  # the shop's own feed: URLs and relative paths, SKUs, one product of its own
    with open(feed, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["image_link", "id", "sku"])
        writer.writerow([f"https://cdn.example.com/p/{hm[0].stem}.jpg?v=3", hm[0].stem, f"SKU-{hm[0].stem}-M"])
        writer.writerow([f"https://cdn.example.com/web/{hm[0].stem}-small.jpg", hm[0].stem, f"SKU-{hm[0].stem}-WEB"])
        writer.writerow(["shop/shop-photo.jpg", "SHOP-1", "SKU-SHOP-1"])
    return {"folder": folder, "hm": [p.stem for p in hm], "feed": feed}


def index(folder: Path, catalog_dir: Path, model_path: Path) -> None:
    with Catalog(catalog_dir, root=folder) as catalog:
        Indexer(folder, catalog, model_path=model_path, workers=2).run()


def product_data(catalog_dir: Path) -> tuple[dict, dict]:
    with Catalog(catalog_dir) as catalog:
        shas = {sha for _, sha in catalog.present_file_keys()}
        data = {sha: [(i.as_dict(), i.image_key) for i in infos] for sha, infos in catalog.products_of(shas).items()}
        return data, catalog.product_counts()


def sha_of(catalog_dir: Path, relative: str) -> str:
    with Catalog(catalog_dir) as catalog:
        return catalog.present_file(os.fsencode(relative))["sha256"]


def test_mapping_is_detected_for_the_hm_and_myntra_files(tmp_path):
    assert detect_mapping(read_headers(ARTICLES)) == Mapping(
        image_key="article_id", product_id="article_id", sku=None, product_group="product_code",
        colour="colour_group_name", category="product_type_name", name="prod_name")
    assert detect_mapping(read_headers(STYLES)) == Mapping(
        image_key="id", product_id="id", sku=None, product_group=None, colour="baseColour", category="articleType",
        name="productDisplayName")
    hm, myntra = read_table(ARTICLES), read_table(STYLES)
    assert (len(hm.rows), len(myntra.rows)) == (2792, 3195)
    assert {len(r) for r in hm.rows} == {len(hm.headers)}  # quoted commas in detail_desc stay in their cell

    # The same rows as a spreadsheet saves them elsewhere: semicolons and a byte order mark.
    semicolons = tmp_path / "styles-excel.csv"
    with open(semicolons, "w", newline="", encoding="utf-8-sig") as fh:
        csv.writer(fh, delimiter=";").writerows([myntra.headers] + myntra.rows[:50])
    again = read_table(semicolons)
    assert again.delimiter == ";" and again.headers == myntra.headers and again.rows == myntra.rows[:50]
    assert detect_mapping(again.headers) == detect_mapping(myntra.headers)

    # Shop-system headers, and the curator's edits as --map gives them.
    shopify = detect_mapping(["Handle", "Title", "Variant SKU", "Image Src", "Color"])
    assert (shopify.product_id, shopify.sku, shopify.image_key, shopify.name, shopify.colour) == (
        "Handle", "Variant SKU", "Image Src", "Title", "Color")
    edited = apply_overrides(detect_mapping(hm.headers), ["sku=article_id", "colour=perceived_colour_master_name",
                                                          "category="], hm.headers)
    assert (edited.sku, edited.colour, edited.category) == ("article_id", "perceived_colour_master_name", None)
    with pytest.raises(ProductDataError, match="no column 'size'"):
        apply_overrides(Mapping(), ["sku=size"], hm.headers)
    with pytest.raises(ProductDataError, match="no field 'price'"):
        apply_overrides(Mapping(), ["price=prod_name"], hm.headers)


def test_import_before_and_after_indexing_end_with_the_same_product_data(photos, tmp_path, model_path):
    folder, hm = photos["folder"], photos["hm"]
    before, after = tmp_path / "before", tmp_path / "after"
    with Catalog(before) as catalog:  # no picture indexed yet: every row waits under its image key
        first = import_products(catalog, ARTICLES)
        assert (first.rows, first.matched_rows, first.waiting_rows, first.without_key) == (2792, 0, 2792, 0)
        import_products(catalog, STYLES)
    index(folder, before, model_path)

    index(folder, after, model_path)
    with Catalog(after) as catalog:
        report = import_products(catalog, ARTICLES)
        # Each H&M packshot is matched by its stem (the article id); the shop's byte copy shares its content.
        assert (report.matched_rows, report.pictures, report.waiting_rows) == (6, 6, 2792 - 6)
        report = import_products(catalog, STYLES)
        assert (report.matched_rows, report.pictures, report.waiting_rows) == (6, 5, 3195 - 6)

    data, counts = product_data(after)
    assert product_data(before) == (data, counts)
    assert counts == {"pictures": 11, "rows": 12, "waiting": 2792 - 6 + 3195 - 6, "shared": 1}
    row = articles()[hm[2]]
    [(info, key)] = data[sha_of(after, f"hm/{hm[2][:3]}/{hm[2]}.jpg")]
    assert key == hm[2] and info == {"product_id": hm[2], "sku": None, "product_group": row["product_code"],
                                     "colour": row["colour_group_name"], "category": row["product_type_name"],
                                     "name": row["prod_name"]}
    shared = data[sha_of(after, "myntra/10683.jpg")]  # the real reused Myntra photo: two products, one content
    assert [i["product_id"] for i, _ in shared] == list(SHARED_MYNTRA)
    assert shared[0][0]["colour"] == "Blue" and shared[0][0]["category"] == "Tshirts"


def test_a_rename_keeps_the_product_data(photos, tmp_path, model_path):
    folder = tmp_path / "photos"
    shutil.copytree(photos["folder"], folder)
    catalog_dir, article = tmp_path / "cat", photos["hm"][3]
    index(folder, catalog_dir, model_path)
    with Catalog(catalog_dir) as catalog:
        import_products(catalog, ARTICLES)
    old = f"hm/{article[:3]}/{article}.jpg"
    sha = sha_of(catalog_dir, old)
    data, _ = product_data(catalog_dir)
    (folder / "renamed").mkdir()
    os.rename(folder / old, folder / "renamed" / "front view.jpg")
    index(folder, catalog_dir, model_path)
    assert sha_of(catalog_dir, "renamed/front view.jpg") == sha
    assert product_data(catalog_dir)[0][sha] == data[sha] and data[sha][0][0]["product_id"] == article


@pytest.fixture(scope="module")
def catalogue(photos, tmp_path_factory, model_path):
    """The photos indexed and the three product files imported through the command line."""
    home = tmp_path_factory.mktemp("home")
    catalog_dir = home / "catalogue"
    run("index", photos["folder"], "--catalog", catalog_dir, home=home)
    for source in (ARTICLES, STYLES, photos["feed"]):
        out = run("metadata", "import", source, "--catalog", catalog_dir, home=home).stdout
        assert "image_key" in out and "rows read" in out
    return catalog_dir, home


def test_metadata_import_prints_the_mapping_and_takes_overrides(catalogue, tmp_path):
    catalog_dir, home = catalogue
    out = run("metadata", "import", ARTICLES, "--catalog", catalog_dir, "--map", "sku=article_id", "--dry-run",
              home=home).stdout
    assert "sku            article_id" in out and "product_group  product_code" in out
    assert "2792 rows read" in out and "6 rows matched 6 pictures" in out and "Dry run: nothing was saved" in out
    result = run("metadata", "import", ARTICLES, "--catalog", catalog_dir, "--map", "sku=nope", home=home, check=False)
    assert result.returncode == 1 and "no column 'nope'" in result.stderr and "Traceback" not in result.stderr


def test_pairs_json_carries_product_ids_and_flags_shared_photos(catalogue, photos):
    catalog_dir, home = catalogue
    p1, q = photos["hm"][0], photos["hm"][1]
    pairs = json.loads(run("pairs", "--catalog", catalog_dir, "--format", "json", home=home).stdout)

    def pair(*names):
        return next(p for p in pairs if {p["path_a"], p["path_b"]} == set(names))

    web = pair(f"hm/{p1[:3]}/{p1}.jpg", f"web/{p1}-small.jpg")
    sides = {web["path_a"]: web["products_a"], web["path_b"]: web["products_b"]}
    original, small = sides[f"hm/{p1[:3]}/{p1}.jpg"], sides[f"web/{p1}-small.jpg"]
    assert [p["product_id"] for p in original] == [p1] and original[0]["sku"] == f"SKU-{p1}-M"
    assert original[0]["colour"] == articles()[p1]["colour_group_name"]  # the feed's empty cells erase nothing
    assert small == [{"product_id": p1, "sku": f"SKU-{p1}-WEB", "product_group": None, "colour": None,
                      "category": None, "name": None}]
    assert web["shared_photo"] is False

    shop = pair(f"hm/{q[:3]}/{q}.jpg", "shop/shop-photo.jpg")  # one content, two products
    assert shop["kind"] == "exact" and shop["shared_photo"] is True
    assert sorted(p["product_id"] for p in shop["products_a"]) == sorted([q, "SHOP-1"])
    myntra = pair("myntra/10683.jpg", "myntra/10684.jpg")
    assert myntra["shared_photo"] is True and [p["product_id"] for p in myntra["products_b"]] == list(SHARED_MYNTRA)

    shown = json.loads(run("metadata", "show", "shop/shop-photo.jpg", "--catalog", catalog_dir, "--format", "json",
                           home=home).stdout)
    assert shown["shared_photo"] is True and {p["sku"] for p in shown["products"]} == {None, "SKU-SHOP-1"}
    assert "SKU-SHOP-1" in run("metadata", "show", "shop/shop-photo.jpg", "--catalog", catalog_dir, home=home).stdout


def test_export_carries_product_ids_and_never_removes_a_products_only_photo(catalogue, photos, tmp_path):
    catalog_dir, home = catalogue
    p1, q, folder = photos["hm"][0], photos["hm"][1], photos["folder"]
    for a, b in ((f"hm/{p1[:3]}/{p1}.jpg", f"web/{p1}-small.jpg"), (f"hm/{q[:3]}/{q}.jpg", "shop/shop-photo.jpg"),
                 ("myntra/10683.jpg", "myntra/10684.jpg")):
        run("decide", a, b, "merge", "--catalog", catalog_dir, home=home)
    out = run("export", "--out", tmp_path / "merges.csv", "--catalog", catalog_dir, home=home).stdout
    assert "Wrote 2 approved merges" in out and "Left out 2 duplicates" in out
    rows = {r["duplicate_path"]: r for r in csv.DictReader(open(tmp_path / "merges.csv", newline=""))}
    web = rows[f"web/{p1}-small.jpg"]
    assert web["root"] == str(folder.resolve()) and web["keeper_path"] == f"hm/{p1[:3]}/{p1}.jpg"
    assert (web["keeper_product_id"], web["keeper_sku"], web["duplicate_product_id"], web["duplicate_sku"]) == (
        p1, f"SKU-{p1}-M", p1, f"SKU-{p1}-WEB")
    # Of the shared photos only the spare copy no product names may go; each product keeps its own photo file.
    spare = rows["shop/10683 spare copy.jpg"]
    assert spare["duplicate_product_id"] == "10683|10684" and spare["keeper_path"] in ("myntra/10683.jpg",
                                                                                       "myntra/10684.jpg")
    assert set(rows) == {f"web/{p1}-small.jpg", "shop/10683 spare copy.jpg"}

    run("export", "--out", tmp_path / "merges.json", "--catalog", catalog_dir, home=home)
    data = json.loads((tmp_path / "merges.json").read_text())
    assert data["count"] == 2 and data["skipped_shared"] == 2
    assert {m["duplicate_path"]: m["duplicate_sku"] for m in data["merges"]}[f"web/{p1}-small.jpg"] == f"SKU-{p1}-WEB"


def test_a_schema_2_catalogue_is_upgraded_with_a_backup(tmp_path):
    directory = tmp_path / "old"
    with Catalog(directory) as catalog:
        catalog.decide("aa", "bb", "merge")
    conn = sqlite3.connect(directory / DB_NAME)  # back to schema 2 exactly: schemas 3 to 5 only added these
    conn.executescript("DROP TABLE product_vectors; DROP TABLE pair_tiers; "  # schema 5
                       "DROP TABLE products; DROP TABLE products_waiting; ALTER TABLE decision_log DROP COLUMN kind; "
                       "PRAGMA user_version=2;")
    conn.close()
    with Catalog(directory) as catalog:
        assert catalog.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert catalog.decisions()[("aa", "bb")]["decision"] == "merge"
        assert import_products(catalog, STYLES).waiting_rows == 3195
        assert catalog.product_counts()["waiting"] == 3195
    backup = sqlite3.connect(directory / f"{DB_NAME}.v2-backup")
    assert "products" not in {r[0] for r in backup.execute("SELECT name FROM sqlite_master")}
    backup.close()
