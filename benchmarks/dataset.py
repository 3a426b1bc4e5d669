"""Build a labelled near-duplicate folder from the shared catalogue images (reproducible from a seed).

Layout written under OUT: originals copied as-is, one variant of a sample of them per kind, and
`labels.json` with the true pairs (relative paths) and the colourway-sibling pairs (hard negatives).
Images come from ../shared/data and are only used to measure; nothing here is shipped.

    python -m benchmarks.dataset OUT [--source hm|myntra] [--originals N] [--split tune|check] [--seed S]
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import shutil
from collections import defaultdict
from pathlib import Path

from PIL import Image

from .variants import KINDS, make_variant, save_variant

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _split_of(key: str) -> str:
    # A stable half/half split by product, so tuning never sees the check half's garments.
    return "tune" if int(hashlib.sha1(key.encode()).hexdigest(), 16) % 2 == 0 else "check"


def hm_products(shared: Path = SHARED) -> dict[str, list[Path]]:
    """product_code -> image paths (colourways of one garment)."""
    groups: dict[str, list[Path]] = defaultdict(list)
    with open(shared / "hm_dev" / "articles.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            aid = row["article_id"]
            path = shared / "hm_dev" / "images" / aid[:3] / f"{aid}.jpg"
            if path.exists():
                groups[row["product_code"]].append(path)
    return groups


def myntra_products(shared: Path = SHARED) -> dict[str, list[Path]]:
    groups: dict[str, list[Path]] = {}
    for path in sorted((shared / "myntra_dev" / "images").glob("*.jpg")):
        groups[path.stem] = [path]
    return groups


def reused_photo_groups(groups: dict[str, list[Path]]) -> list[list[tuple[str, Path]]]:
    """The source's own reused photos: the same bytes under several ids (real duplicates, e.g. 18 pairs in Myntra).

    Each group is (code, path) pairs sorted by code; it belongs, whole, to the split of its first code.
    """
    by_bytes: dict[str, list[tuple[str, Path]]] = defaultdict(list)
    for code, paths in groups.items():
        for path in paths:
            by_bytes[hashlib.sha256(path.read_bytes()).hexdigest()].append((code, path))
    return sorted(sorted(g) for g in by_bytes.values() if len({code for code, _ in g}) > 1)


def build(out: Path, source: str = "hm", originals: int = 400, split: str = "tune", seed: int = 7) -> dict:
    rng = random.Random(seed)
    groups = hm_products() if source == "hm" else myntra_products()
    codes = sorted(code for code in groups if _split_of(code) == split)
    rng.shuffle(codes)
    reused = reused_photo_groups(groups)
    reused_here = [g for g in reused if _split_of(g[0][0]) == split]
    elsewhere = {code for g in reused if _split_of(g[0][0]) != split for code, _ in g}
    out.mkdir(parents=True, exist_ok=True)
    chosen: list[tuple[str, Path]] = []
    for code in codes:
        if code in elsewhere:  # its photo is reused by a product of the other half: it belongs there
            continue
        for path in groups[code]:
            chosen.append((code, path))
        if len(chosen) >= originals:
            break
    # Every reused photo of this half is in the set, with all its ids (the benchmark labels them duplicates).
    have = {path for _, path in chosen}
    chosen += [(code, path) for g in reused_here for code, path in g if path not in have]
    rel_of: dict[Path, str] = {}
    by_code: dict[str, list[str]] = defaultdict(list)
    for code, path in chosen:
        rel = f"originals/{path.name}"
        (out / "originals").mkdir(exist_ok=True)
        shutil.copyfile(path, out / rel)
        rel_of[path] = rel
        by_code[code].append(rel)
    positives = []
    sources = [p for _, p in chosen]
    for i, path in enumerate(sources):
        kind = KINDS[i % len(KINDS)]
        with Image.open(path) as im:
            variant, fmt = make_variant(im, kind, rng)
        (out / "variants" / kind).mkdir(parents=True, exist_ok=True)
        written = save_variant(variant, fmt, out / "variants" / kind / path.name)
        positives.append({"a": rel_of[path], "b": str(Path(written).relative_to(out)), "kind": kind})
    siblings = [
        {"a": members[i], "b": members[j]}
        for members in by_code.values() for i in range(len(members)) for j in range(i + 1, len(members))
    ]
    labels = {"source": source, "split": split, "seed": seed, "positives": positives, "siblings": siblings}
    (out / "labels.json").write_text(json.dumps(labels, indent=1))
    return labels


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Build a labelled near-duplicate set.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--source", choices=["hm", "myntra"], default="hm")
    parser.add_argument("--originals", type=int, default=400)
    parser.add_argument("--split", choices=["tune", "check"], default="tune")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    labels = build(args.out, args.source, args.originals, args.split, args.seed)
    print(f"{len(labels['positives'])} true pairs, {len(labels['siblings'])} colourway sibling pairs in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
