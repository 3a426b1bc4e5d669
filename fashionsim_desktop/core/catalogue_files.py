"""The files a catalogue system imports beside the merge list.

- The replace map: one row per approved duplicate, `from` -> `to` (paths, exact file URIs, image keys from the
  product data), so references to a duplicate (a product's image list, a page, a feed) can be rewritten to its
  keeper before the duplicate is removed.
- The variant groups: pictures of one product in its colours and shots, joined by the curator's `variant`
  decisions and by the product group of the product data (H&M `product_code`, Myntra style, Google Merchant
  `item_group_id`, an Akeneo product model with a colour variant axis, a Shopify Handle); a group never merges
  anything, it links.

Both are written like the merge list (core/export.py): safe targets, atomically, spreadsheet-safe CSV cells.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .export import _inert, check_target, file_uri, merge_list, write_atomically
from .products import only_photos
from .review import VARIANT, UnionFind, merge_groups
from ..store.catalog import Catalog

KINDS = ("merges", "replace-map", "variant-groups")
REPLACE_COLUMNS = ("from_path", "from_uri", "from_sha256", "from_image_key", "from_product_id", "to_path", "to_uri",
                   "to_sha256", "to_image_key", "to_product_id")
VARIANT_COLUMNS = ("variant_group_id", "linked_by", "product_group", "product_id", "sku", "colour", "category", "name", "path",
                   "uri", "sha256")


def replace_map(catalog: Catalog) -> list[dict]:
    rows, _ = merge_list(catalog)
    keys = _image_keys(catalog, {r[f"{side}_sha256"] for r in rows for side in ("keeper", "duplicate")})
    return [{"from_path": r["duplicate_path"], "from_uri": r["duplicate_uri"], "from_sha256": r["duplicate_sha256"],
             "from_image_key": keys.get(r["duplicate_sha256"], ""), "from_product_id": r.get("duplicate_product_id"),
             "to_path": r["keeper_path"], "to_uri": r["keeper_uri"], "to_sha256": r["keeper_sha256"],
             "to_image_key": keys.get(r["keeper_sha256"], ""), "to_product_id": r.get("keeper_product_id")}
            for r in rows]


def _image_keys(catalog: Catalog, shas: set) -> dict[str, str]:
    """sha256 -> the image keys the catalogue system knows the picture by ('|' between several)."""
    return {sha: "|".join(sorted({p.image_key for p in infos if p.image_key}))
            for sha, infos in catalog.products_of(shas).items()}


def variant_groups(catalog: Catalog) -> list[dict]:
    """One row per picture of every variant group, numbered group by group. A group joins the pictures the curator
    marked `variant` (another colour or shot of one product) and the pictures that share a product group in the
    product data; a duplicate an approved merge removes is left out (its keeper stands for it)."""
    root = catalog.get_meta("root")
    by_sha: dict[str, list[dict]] = {}
    for f in catalog.present_files():
        by_sha.setdefault(f["sha256"], []).append(f)
    linked = UnionFind()
    by_curator: set[str] = set()
    for (a, b), d in catalog.decisions().items():
        if d["decision"] == VARIANT and a in by_sha and b in by_sha:
            linked.join(a, b)
            by_curator.update((a, b))
    products = catalog.products_of(by_sha)
    by_data: set[str] = set()
    first_of_group: dict[str, str] = {}
    for sha, infos in products.items():
        for info in infos:
            if info.product_group:
                linked.join(first_of_group.setdefault(info.product_group, sha), sha)
                by_data.add(sha)
    removed = _merged_away(catalog)
    components: dict[str, list[str]] = {}
    for sha in linked.items():
        components.setdefault(linked.find(sha), []).append(sha)
    groups = []
    for shas in components.values():
        files = [f for sha in shas for f in by_sha[sha] if f["path_raw"] not in removed]
        if len(files) > 1:
            groups.append(sorted(files, key=lambda f: (f["path"], f["path_raw"])))
    rows = []
    for number, files in enumerate(sorted(groups, key=lambda g: g[0]["path"]), start=1):
        for f in files:
            infos = products.get(f["sha256"]) or [None]
            how = [w for w, shas in (("curator", by_curator), ("product data", by_data)) if f["sha256"] in shas]
            for info in infos:
                rows.append({"variant_group_id": number, "linked_by": " + ".join(how),
                             "product_group": info.product_group if info else None,
                             "product_id": info.product_id if info else None, "sku": info.sku if info else None,
                             "colour": info.colour if info else None, "category": info.category if info else None,
                             "name": info.name if info else None, "path": f["path"],
                             "uri": file_uri(root, f["path_raw"]), "sha256": f["sha256"]})
    return rows


def _merged_away(catalog: Catalog) -> set[bytes]:
    """Raw paths of the duplicates the approved merge list removes (as core/export.py's merge_list decides)."""
    groups = merge_groups(catalog, with_scores=False)
    duplicates = [(d.path_raw, d.sha256) for g in groups for d in g.duplicates]
    spared = only_photos(catalog, duplicates)
    return {raw for raw, _ in duplicates if raw not in spared}


def render(rows: list[dict], columns: tuple, fmt: str, key: str) -> str:
    if fmt == "json":
        return json.dumps({key: rows, "count": len(rows)}, indent=2) + "\n"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: _inert(v) for k, v in row.items()} for row in rows)
    return buf.getvalue()


def write(catalog: Catalog, kind: str, out: Path, fmt: str | None = None, replace: bool = False) -> int:
    """Write the replace map or the variant groups; returns the number of rows."""
    target = check_target(catalog, Path(out), replace)
    fmt = fmt or ("json" if str(out).lower().endswith(".json") else "csv")
    if kind == "replace-map":
        rows, columns, key = replace_map(catalog), REPLACE_COLUMNS, "replace"
    elif kind == "variant-groups":
        rows, columns, key = variant_groups(catalog), VARIANT_COLUMNS, "variant_groups"
    else:
        raise ValueError(f"unknown export kind {kind!r}")
    write_atomically(target, render(rows, columns, fmt, key))
    return len(rows)
