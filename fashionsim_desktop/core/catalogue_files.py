"""The files a catalogue system imports beside the merge list.

- The replace map: one row per approved duplicate, `from` -> `to` (paths, exact file URIs, image keys from the
  product data), so references to a duplicate (a product's image list, a page, a feed) can be rewritten to its
  keeper before the duplicate is removed.
- The variant groups: pictures of one product in its colours and shots, grouped by the product group of the
  product data (H&M `product_code`, Myntra style, Google Merchant `item_group_id`, an Akeneo product model,
  a Shopify Handle); a group never merges anything, it links.

Both are written like the merge list (core/export.py): safe targets, atomically, spreadsheet-safe CSV cells.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .export import _inert, check_target, file_uri, merge_list, write_atomically
from ..store.catalog import Catalog

KINDS = ("merges", "replace-map", "variant-groups")
REPLACE_COLUMNS = ("from_path", "from_uri", "from_sha256", "from_image_key", "from_product_id", "to_path", "to_uri",
                   "to_sha256", "to_image_key", "to_product_id")
VARIANT_COLUMNS = ("variant_group_id", "product_group", "product_id", "sku", "colour", "category", "name", "path",
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
    """One row per picture of every product group that has two or more pictures, numbered group by group."""
    root = catalog.get_meta("root")
    files = catalog.present_files()
    by_sha: dict[str, list[dict]] = {}
    for f in files:
        by_sha.setdefault(f["sha256"], []).append(f)
    members: dict[str, list[tuple]] = {}
    for sha, infos in catalog.products_of(by_sha).items():
        for info in infos:
            if info.product_group:
                for f in by_sha[sha]:
                    members.setdefault(info.product_group, []).append((info, f))
    rows = []
    groups = sorted((g, m) for g, m in members.items() if len({f["path_raw"] for _, f in m}) > 1)
    for number, (group, pictures) in enumerate(groups, start=1):
        for info, f in sorted(pictures, key=lambda item: (item[0].product_id, item[1]["path"])):
            rows.append({"variant_group_id": number, "product_group": group, "product_id": info.product_id,
                         "sku": info.sku, "colour": info.colour, "category": info.category, "name": info.name,
                         "path": f["path"], "uri": file_uri(root, f["path_raw"]), "sha256": f["sha256"]})
    return rows


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
