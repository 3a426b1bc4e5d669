"""Is the original the suggested keeper? Original/edited pairs from held-out products, today's rule against the
keeper policy (fashionsim_desktop/core/keeper.py), per edit kind.

    python -m benchmarks.keeper [--split tune|check] [--format json] [--originals N] [--stress]
                                [--originals-quality Q] [--work DIR]

Each original (H&M packshots and Myntra photos of one half of the products, split by product as in
benchmarks/dataset.py: never by image) gets one edited copy, the kinds taken in turn: benchmarks/variants.py's ten,
plus an upscaled PNG and a mirrored copy with a text overlay (the cases curators reported). The two files of a
pair get the same modification time and the names a/b at random, so neither age nor name can tell them apart:
only the pictures can. `--stress` adds, per half, pairs of benchmarks/stress.py's harsher kinds (nothing was
tuned on them); `--originals-quality 95` re-saves the originals first, as another pipeline would have. The
policy's measures were set on the tune half; the check half is the held-out figure.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from PIL import Image, ImageOps

from fashionsim_desktop.core.keeper import Context, choose
from fashionsim_desktop.core.review import Member

from . import stress
from .dataset import _split_of, hm_products, myntra_products, reused_photo_groups
from .variants import KINDS, make_variant, save_variant

SEEDS = {"tune": 31, "check": 32}
MTIME_NS = 1_700_000_000 * 10**9  # every file of the set: age tells nothing


def _upscale(im, rng):
    f = rng.uniform(1.5, 2.2)
    return im.resize((round(im.width * f), round(im.height * f)), Image.Resampling.BICUBIC), ("PNG", 0)


def _mirror_overlay(im, rng):
    return make_variant(ImageOps.mirror(im), "overlay", rng)


EXTRA = {"upscaled PNG": _upscale, "mirror + overlay": _mirror_overlay}


def _originals(split: str, hm: int, myntra: int, rng: random.Random) -> list[Path]:
    """One photo per product (its first colour), products of this half only, in a seeded order."""
    chosen = []
    for groups, n in ((hm_products(), hm), (myntra_products(), myntra)):
        codes = sorted(code for code in groups if _split_of(code) == split)
        rng.shuffle(codes)
        chosen += [groups[code][0] for code in codes[:n]]
    return chosen


def build(work: Path, split: str, hm: int, myntra: int, makers: dict, originals_quality: int = 0,
          seed_offset: int = 0) -> list[dict]:
    """Write the pairs under work/; returns [{kind, original, copy}] with paths relative to work.

    `originals_quality` re-saves every original as a JPEG of that quality first (another camera or shop
    pipeline than the sources' own quality 75), so that no result rests on how the source files were saved."""
    rng = random.Random(SEEDS[split] + seed_offset)
    kinds = list(makers)
    pairs = []
    for i, source in enumerate(_originals(split, hm, myntra, rng)):
        kind = kinds[i % len(kinds)]
        folder = work / f"{i:04d}"
        folder.mkdir(parents=True)
        original_name, copy_name = ("a", "b") if rng.random() < 0.5 else ("b", "a")
        original = folder / f"{original_name}{source.suffix}"
        if originals_quality:
            with Image.open(source) as im:
                im.convert("RGB").save(original, "JPEG", quality=originals_quality)
        else:
            shutil.copyfile(source, original)
        with Image.open(original) as im:
            edited, fmt = makers[kind](im.convert("RGB"), rng)
        copy = Path(save_variant(edited, fmt, folder / f"{copy_name}.jpg"))
        for path in (original, copy):
            os.utime(path, ns=(MTIME_NS, MTIME_NS))
        pairs.append({"kind": kind, "original": str(original.relative_to(work)), "copy": str(copy.relative_to(work))})
    return pairs


def makers(stress_kinds: bool = False) -> dict:
    """kind -> f(RGB image, rng) -> (edited image, (format, quality))."""
    if stress_kinds:  # benchmarks/stress.py's edits, saved as it saves them
        return {k: (lambda im, r, f=f, k=k: (f(im, r), ("JPEG", r.randint(12, 25) if k.startswith("JPEG") else 90)))
                for k, f in stress.KINDS.items()}
    return {kind: (lambda im, r, k=kind: make_variant(im, k, r)) for kind in KINDS} | EXTRA


def member(root: Path, rel: str) -> Member:
    path = root / rel
    data = path.read_bytes()
    with Image.open(path) as im:
        width, height, fmt = im.width, im.height, im.format
    st = path.stat()
    return Member(rel, hashlib.sha256(data).hexdigest(), width, height, st.st_size, st.st_mtime_ns,
                  os.fsencode(rel), fmt)


def todays_rule(members: list[Member]) -> Member:
    """The rule before the keeper policy: most pixels, then largest file, then oldest, then path."""
    return min(members, key=lambda m: (-(m.width * m.height), -m.size, m.mtime_ns, m.path, m.path_raw))


def run(work: Path, pairs: list[dict]) -> dict:
    ctx = Context(root=str(work))
    per_kind: dict[str, dict] = defaultdict(lambda: {"pairs": 0, "baseline": 0, "policy": 0, "told": 0})
    seconds, cpu, misses = [], [], []
    for p in pairs:
        original, copy = member(work, p["original"]), member(work, p["copy"])
        started, started_cpu = time.perf_counter(), time.process_time()
        choice = choose([original, copy], ctx)
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        k = per_kind[p["kind"]]
        k["pairs"] += 1
        k["baseline"] += todays_rule([original, copy]) is original
        k["policy"] += choice.keeper is original
        k["told"] += "nothing told them apart" not in choice.reason and "no edit told" not in choice.reason and \
            "could not be told" not in choice.reason
        if choice.keeper is not original:
            misses.append({"kind": p["kind"], "original": p["original"], "reason": choice.reason})
    total = {key: sum(k[key] for k in per_kind.values()) for key in ("pairs", "baseline", "policy", "told")}
    return {"per_kind": dict(per_kind), "total": total, "misses": misses,
            "ms_per_pair": {"median": round(1000 * statistics.median(seconds), 1),
                            "p95": round(1000 * sorted(seconds)[int(0.95 * (len(seconds) - 1))], 1),
                            "cpu_median": round(1000 * statistics.median(cpu), 1)}}


def reused_photos(split: str) -> dict:
    """Real photos the source reuses under several ids (byte copies): what the policy says about them."""
    groups = [g for g in reused_photo_groups(myntra_products()) if _split_of(g[0][0]) == split]
    reasons: dict[str, int] = defaultdict(int)
    for g in groups:
        members = [Member(f"{code}.jpg", "same", 1, 1, 1, MTIME_NS, f"{code}.jpg".encode(), "JPEG") for code, _ in g]
        reasons[choose(members).reason.split(": ", 1)[1]] += 1
    return {"groups": len(groups), "reasons": dict(reasons)}


def report(title: str, result: dict) -> str:
    lines = [f"{title}: {result['total']['pairs']} pairs; the original is the suggested keeper in"]
    lines.append(f"  {'edit kind':28} {'pairs':>5}  {'today':>6}  {'policy':>6}  {'told by the pictures':>20}")
    rows = list(result["per_kind"].items()) + [("all", result["total"])]
    for kind, k in rows:
        n = k["pairs"]
        lines.append(f"  {kind:28} {n:5d}  {k['baseline'] / n:6.1%}  {k['policy'] / n:6.1%}  {k['told'] / n:20.1%}")
    t = result["ms_per_pair"]
    lines.append(f"  time per pair (decode both, align, measure): median {t['median']} ms (CPU {t['cpu_median']} ms),"
                 f" p95 {t['p95']} ms")
    reused = result.get("reused")
    if reused:
        lines.append(f"  real reused photos (byte copies): {reused['groups']} groups, reasons {reused['reasons']}")
    for miss in result["misses"][:20]:
        lines.append(f"  miss: {miss['kind']}: {miss['original']}: {miss['reason']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["tune", "check", "both"], default="both")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    parser.add_argument("--originals", type=int, default=480, help="H&M originals per half (Myntra: a quarter)")
    parser.add_argument("--originals-quality", type=int, default=0,
                        help="re-save the originals as JPEGs of this quality first (default: as the sources are)")
    parser.add_argument("--stress", action="store_true", help="also benchmarks/stress.py's harsher kinds")
    parser.add_argument("--work", type=Path, default=Path("/tmp/fashionsim-keeper"))
    args = parser.parse_args(argv)
    results = {}
    for split in (["tune", "check"] if args.split == "both" else [args.split]):
        sets = [(f"{split} half", makers(), 0)]
        if args.stress:
            sets.append((f"{split} half, stress kinds", makers(stress_kinds=True), 1000))
        for title, kinds, offset in sets:
            work = args.work / title.replace(" ", "-").replace(",", "")
            shutil.rmtree(work, ignore_errors=True)
            pairs = build(work, split, args.originals, args.originals // 4, kinds, args.originals_quality, offset)
            results[title] = run(work, pairs)
        results[f"{split} half"]["reused"] = reused_photos(split)
    if args.format == "json":
        json.dump(results, sys.stdout, indent=2)
        print()
    else:
        print("\n\n".join(report(title, r) for title, r in results.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
