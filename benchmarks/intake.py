"""The intake check on a labelled new shoot: are the edited copies found, and are other garments left alone?

    python -m benchmarks.intake [--format json] [--work DIR] [--per-kind N] [--unrelated N] [--seed S]

Built, seeded, from held-out H&M products (the "check" half, split by product: the scorer never saw them):

- catalogue/  the packshots of the catalogue's products. Of a product photographed in several colours, one colour
              is held back for the shoot.
- shoot/      edited copies of catalogue pictures, N of each kind: every kind benchmarks/variants.py makes, a
              byte copy, and the 12-22% crops of benchmarks/stress.py; and unrelated pictures: the held-back
              colourways (same product_code, another colour: a different product, must come out "new") and
              packshots of products that are not in the catalogue.

Products whose photo the data set reuses under another product (benchmarks/dataset.py) are left out: such a
picture would be a real duplicate of another product. The catalogue is indexed with the normal indexer (not
timed), then `core.intake.check` runs on the shoot (timed, wall clock). Prints the share of edited copies
reported with their catalogue picture, unrelated pictures reported as matches, both per kind, and the time per
picture.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path

from PIL import Image

from .dataset import _split_of, hm_products, reused_photo_groups
from .stress import _crop_heavy
from .variants import KINDS, make_variant, save_variant

SEED = 2027
EXACT, HARSH_CROP = "byte copy", "crop 12-22%"
EDIT_KINDS = (EXACT, *KINDS, HARSH_CROP)
COLOURWAY, OTHER = "colourway of a catalogue product", "product not in the catalogue"


def build(out: Path, per_kind: int, unrelated: int, seed: int = SEED) -> dict:
    """Write catalogue/ and shoot/ under `out`; returns the labels {shoot path: {kind, source}}."""
    rng = random.Random(seed)
    groups = hm_products()
    reused = {code for g in reused_photo_groups(groups) for code, _ in g}
    codes = sorted(c for c in groups if _split_of(c) == "check" and c not in reused)
    rng.shuffle(codes)
    singles = [c for c in codes if len(groups[c]) == 1]
    outside = set(singles[:unrelated])  # products the catalogue does not have
    catalogue, labels = [], {}
    (out / "catalogue").mkdir(parents=True)
    (out / "shoot").mkdir()
    for code in codes:
        if code in outside:
            path = groups[code][0]
            shutil.copyfile(path, out / "shoot" / path.name)
            labels[path.name] = {"kind": OTHER}
            continue
        photos = groups[code]
        if len(photos) > 1:  # hold one colour back: the shoot's colourway of a catalogue product
            held = photos[-1]
            shutil.copyfile(held, out / "shoot" / held.name)
            labels[held.name] = {"kind": COLOURWAY}
            photos = photos[:-1]
        for path in photos:
            shutil.copyfile(path, out / "catalogue" / path.name)
            catalogue.append(path)
    sources = rng.sample(catalogue, per_kind * len(EDIT_KINDS))
    for i, path in enumerate(sources):
        kind = EDIT_KINDS[i % len(EDIT_KINDS)]
        name = f"edit-{i:04d}-{path.stem}.jpg"
        if kind == EXACT:
            shutil.copyfile(path, out / "shoot" / name)
        else:
            with Image.open(path) as im:
                if kind == HARSH_CROP:
                    edited, fmt = _crop_heavy(im.convert("RGB"), rng), ("JPEG", 90)
                else:
                    edited, fmt = make_variant(im, kind, rng)
            name = Path(save_variant(edited, fmt, out / "shoot" / name)).name
        labels[name] = {"kind": kind, "source": path.name}
    (out / "labels.json").write_text(json.dumps(labels, indent=1))
    return labels


def evaluate(report, labels: dict) -> dict:
    """Per kind: how many shoot pictures were reported (an edited copy counts only when its own catalogue
    picture is among the matches) out of how many."""
    found, total = defaultdict(int), defaultdict(int)
    wrong = []  # edited copies matched to a catalogue picture other than their own (e.g. its colourway)
    for item in report.items:
        label = labels[item.path]
        total[label["kind"]] += 1
        if "source" in label:
            found[label["kind"]] += any(m.path == label["source"] for m in item.matches)
            wrong += [(item.path, m.path) for m in item.matches if m.path != label["source"]]
        else:
            found[label["kind"]] += item.status != "new"
    edits = [k for k in EDIT_KINDS if total[k]]
    others = [k for k in (COLOURWAY, OTHER) if total[k]]
    per_kind = {k: {"reported": found[k], "of": total[k]} for k in edits + others}
    edited = sum(total[k] for k in edits)
    return {"edited_copies": edited, "edited_reported": sum(found[k] for k in edits),
            "edited_share": sum(found[k] for k in edits) / max(1, edited),
            "unrelated": sum(total[k] for k in others), "false_matches": sum(found[k] for k in others),
            "wrong_matches": len(wrong), "wrong_match_examples": wrong[:10], "per_kind": per_kind,
            "errors": [(i.path, i.error) for i in report.items if i.status == "error"],
            "false_match_examples": [(i.path, [m.path for m in i.matches]) for i in report.items
                                     if "source" not in labels[i.path] and i.status != "new"][:10]}


def run(work: Path, per_kind: int, unrelated: int, seed: int, workers: int | None) -> dict:
    from fashionsim_desktop.core.indexer import Indexer
    from fashionsim_desktop.core.intake import check
    from fashionsim_desktop.core.pairs import DEFAULT_MIN_SCORE
    from fashionsim_desktop.store.catalog import Catalog

    shutil.rmtree(work, ignore_errors=True)
    labels = build(work / "set", per_kind, unrelated, seed)
    with Catalog(work / "catalog", root=work / "set" / "catalogue") as catalog:
        Indexer(work / "set" / "catalogue", catalog, workers=workers).run()
        pictures = len(catalog.present_files())
    with Catalog(work / "catalog", create=False) as catalog:
        cpu = _cpu_seconds()
        start = time.perf_counter()
        report = check(catalog, work / "set" / "shoot", workers=workers)
        seconds = time.perf_counter() - start
        cpu = _cpu_seconds() - cpu
    result = evaluate(report, labels)
    result.update(catalogue_pictures=pictures, shoot_pictures=len(report.items), seconds=seconds, cpu_seconds=cpu,
                  ms_per_picture=1000 * seconds / max(1, len(report.items)), phase_seconds=report.seconds,
                  threshold=DEFAULT_MIN_SCORE, seed=seed, workers=report.workers)
    return result


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the check's worker pools end with each phase): the
    machine is shared, so wall time alone says little about the check itself."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def print_table(r: dict) -> None:
    print(f"catalogue: {r['catalogue_pictures']} held-out H&M packshots; shoot: {r['shoot_pictures']} pictures; "
          f"threshold {r['threshold']}; seed {r['seed']}")
    print(f"edited copies reported with their catalogue picture: {r['edited_reported']}/{r['edited_copies']} "
          f"= {r['edited_share']:.3f} (target >= 0.99)")
    print(f"unrelated pictures reported as matches: {r['false_matches']}/{r['unrelated']} (target 0); edited copies "
          f"also matched to another catalogue picture: {r['wrong_matches']}")
    for kind, k in r["per_kind"].items():
        print(f"    {kind:34} {k['reported']:4}/{k['of']}")
    for path, matches in r["false_match_examples"]:
        print(f"    false match: {path} -> {', '.join(matches)}")
    for path, match in r["wrong_match_examples"]:
        print(f"    wrong match: {path} -> {match}")
    for path, error in r["errors"]:
        print(f"    unreadable: {path}: {error}")
    print(f"time: {r['seconds']:.1f} s for {r['shoot_pictures']} pictures = {r['ms_per_picture']:.0f} ms per picture "
          f"({r['workers']} worker processes; phases {r['phase_seconds']}; {r['cpu_seconds']:.0f} CPU seconds)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/fashionsim-intake"))
    parser.add_argument("--per-kind", type=int, default=45, help="edited copies of each kind (12 kinds)")
    parser.add_argument("--unrelated", type=int, default=200, help="products not in the catalogue")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--format", choices=["table", "json"], default="table")
    args = parser.parse_args(argv)
    result = run(args.work, args.per_kind, args.unrelated, args.seed, args.workers)
    if args.format == "json":
        json.dump(result, sys.stdout, indent=2)
        print()
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
