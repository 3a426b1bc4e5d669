"""Product-level similarity end to end, on real H&M packshots with their real product codes: tiers stored per
pair, the `variant` decision and its export, search grouped by tier, and a catalogue made by release 0.3.0 that
gains tiers in place without decoding any picture again and keeps every decision."""
from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from collections import defaultdict

from PIL import Image

from fashionsim_desktop.store.catalog import SCHEMA_VERSION

from .conftest import REPO, SHARED, hm_image
from .test_cli import run

ARTICLES = SHARED / "hm_dev" / "articles.csv"
FIXTURE = REPO / "tests" / "fixtures" / "catalog-0.3.0"


def product_codes() -> dict[str, str]:
    with ARTICLES.open(newline="", encoding="utf-8") as fh:
        return {r["article_id"]: r["product_code"] for r in csv.DictReader(fh)}


def colourway_folder(tmp_path, products: int = 8):
    """Real packshots of `products` H&M products that come in two or more colours, plus an edited copy."""
    groups = defaultdict(list)
    for article, code in sorted(product_codes().items()):
        if hm_image(article).exists():
            groups[code].append(article)
    chosen = [arts[:3] for _, arts in sorted(groups.items()) if len(arts) >= 2][:products]
    folder = tmp_path / "photos"
    folder.mkdir()
    for articles in chosen:
        for article in articles:
            shutil.copyfile(hm_image(article), folder / f"{article}.jpg")
    first = chosen[0][0]
    with Image.open(hm_image(first)) as im:  # a web copy: smaller and re-encoded
        im.resize((im.width * 3 // 4, im.height * 3 // 4)).save(folder / "web-copy.jpg", quality=80)
    return folder, chosen


def test_pairs_carry_tiers_and_variants_are_other_colours(tmp_path, isolated_home, model_path):
    folder, chosen = colourway_folder(tmp_path)
    cat = ("--catalog", tmp_path / "cat")
    run("index", folder, *cat, home=isolated_home)
    duplicates = json.loads(run("pairs", "--format", "json", *cat, home=isolated_home).stdout)
    assert duplicates and {p["tier"] for p in duplicates} <= {"exact", "duplicate"}
    copy = next(p for p in duplicates if "web-copy.jpg" in (p["path_a"], p["path_b"]))
    assert copy["summary"] and copy["tier"] == "duplicate"

    variants = json.loads(run("pairs", "--format", "json", "--tier", "variant", *cat, home=isolated_home).stdout)
    assert variants and all(p["tier"] == "variant" and "product_similarity" in p and p["summary"] for p in variants)
    code = product_codes()
    same_product = [code[p["path_a"][:-4]] == code[p["path_b"][:-4]] for p in variants
                    if "web-copy" not in p["path_a"] + p["path_b"]]
    # Most proposed variants are colourways of one product (the rest are look-alike products of one type).
    assert sum(same_product) >= 0.6 * len(same_product)
    # No colourway is proposed as a duplicate.
    assert all(code.get(p["path_a"][:-4]) != code.get(p["path_b"][:-4]) or p["tier"] == "exact"
               for p in duplicates if "web-copy" not in p["path_a"] + p["path_b"])

    # `variant` links two colours: never merged, exported as a variant group, undoable.
    pair = next(p for p in variants if code[p["path_a"][:-4]] == code[p["path_b"][:-4]])
    run("decide", pair["path_a"], pair["path_b"], "variant", *cat, home=isolated_home)
    decided = json.loads(run("pairs", "--format", "json", "--tier", "variant", *cat, home=isolated_home).stdout)
    assert next(p for p in decided if (p["path_a"], p["path_b"]) == (pair["path_a"], pair["path_b"]))["decision"] \
        == "variant"
    out = tmp_path / "variants.json"
    run("export", "--what", "variant-groups", "--out", out, *cat, home=isolated_home)
    rows = json.loads(out.read_text())["variant_groups"]
    assert {r["path"] for r in rows} == {pair["path_a"], pair["path_b"]}
    assert {r["linked_by"] for r in rows} == {"curator"} and len({r["variant_group_id"] for r in rows}) == 1
    assert all(r["sha256"] and r["uri"].startswith("file://") for r in rows)
    merges = tmp_path / "merges.csv"
    run("export", "--out", merges, *cat, home=isolated_home)
    assert not list(csv.DictReader(merges.open(newline="")))  # a variant is never a merge
    assert "variant ->" in run("undo", *cat, home=isolated_home).stdout

    same = run("decide", "web-copy.jpg", "web-copy.jpg", "variant", *cat, home=isolated_home, check=False)
    assert same.returncode != 0


def test_search_groups_results_by_tier(tmp_path, isolated_home, model_path):
    folder, chosen = colourway_folder(tmp_path)
    cat = ("--catalog", tmp_path / "cat")
    run("index", folder, *cat, home=isolated_home)
    query = hm_image(chosen[0][0])
    (result,) = json.loads(run("search", query, "-k", "8", "--format", "json", *cat, home=isolated_home).stdout)
    rows = result["results"]
    tiers = [r["tier"] for r in rows]
    assert tiers[0] == "exact"  # the query photo itself, with its edited copy collapsed into the same row
    assert set(rows[0]["copies"]) == {chosen[0][0] + ".jpg", "web-copy.jpg"}
    assert tiers == sorted(tiers, key=["exact", "duplicate", "variant", "similar"].index)  # grouped in tier order
    assert len(rows) <= 8 and all(r["path"] for r in rows)
    colours = {f"{a}.jpg" for a in chosen[0][1:]}
    assert colours & {r["path"] for r in rows if r["tier"] == "variant"}  # another colour of the same product


def test_catalogue_from_release_0_3_0_gains_tiers_without_decoding(tmp_path, isolated_home, model_path):
    """The committed catalogue was made by FashionSim 0.3.0 (schema 4) from these shared pictures, with a merge, a
    keep, a skip and a keeper choice. Its embeddings are kept, so only the model's identity is brought up to date
    (the exported model file's hash differs between machines)."""
    folder = tmp_path / "pics"
    for line in (FIXTURE / "pictures.txt").read_text().split():
        name = line.removeprefix("./")
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        source = hm_image("0153115019") if name == "copy-of-first.jpg" else hm_image(name.split("/")[-1][:-4])
        shutil.copyfile(source, target)
    catalog_dir = tmp_path / "cat"
    catalog_dir.mkdir()
    for name in ("catalog.sqlite", "decisions.journal.jsonl"):
        shutil.copyfile(FIXTURE / name, catalog_dir / name)
    from fashionsim_desktop.core.embedder import model_id, runnable_model

    with sqlite3.connect(catalog_dir / "catalog.sqlite") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 4
        # The model this computer runs: the int8 one, or its float twin on a CPU without VNNI.
        db.execute("UPDATE images SET model_id=?", [model_id(runnable_model(model_path))])
        db.execute("UPDATE meta SET value=? WHERE key='root'", [str(folder.resolve())])
        before = db.execute("SELECT sha_a, sha_b, decision FROM decisions ORDER BY 1, 2").fetchall()
        keepers = db.execute("SELECT sha256, path_raw FROM keepers").fetchall()
    # The files were copied now, so their times differ from the catalogue's: read again, but not decoded.
    out = run("index", folder, "--catalog", catalog_dir, home=isolated_home).stdout
    assert "(0 pictures decoded" in out
    with sqlite3.connect(catalog_dir / "catalog.sqlite") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("SELECT sha_a, sha_b, decision FROM decisions ORDER BY 1, 2").fetchall() == before
        assert db.execute("SELECT sha256, path_raw FROM keepers").fetchall() == keepers
        assert db.execute("SELECT count(*) FROM product_vectors").fetchone()[0] == 14
        tiers = dict(db.execute("SELECT tier, count(*) FROM pair_tiers GROUP BY tier").fetchall())
    assert tiers.get("variant", 0) + tiers.get("similar", 0) > 0
    assert (catalog_dir / "catalog.sqlite.v4-backup").exists()
    variants = json.loads(run("pairs", "--format", "json", "--tier", "variant", "--catalog", catalog_dir,
                              home=isolated_home).stdout)
    assert all(p["tier"] == "variant" for p in variants)
    doctor = run("doctor", "--catalog", catalog_dir, home=isolated_home, check=False)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
