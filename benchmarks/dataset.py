"""Build a labelled near-duplicate folder from the shared catalogue images (reproducible from a seed).

Layout written under OUT: originals copied as-is, one variant of a sample of them per kind, and
`labels.json` with the true pairs (relative paths) and two kinds of hard negatives: colourway-sibling pairs
(one product in two colours) and look-alike pairs (two products photographed in one template, `LOOKALIKES`).
Images come from ../shared/data and are only used to measure; nothing here is shipped.

    python -m benchmarks.dataset OUT [--source hm|myntra] [--originals N] [--split tune|check] [--seed S]
    python -m benchmarks.dataset OUT --lookalike-candidates   # the look-alike rule's candidates, to review
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

from .variants import BENCHMARK_KINDS, make_variant, save_variant

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

# Look-alike pairs: different products photographed in one template (the same model and pose in another shirt,
# the same tie box with another tie, the same tights packaging with other tights). A duplicate finder must not
# propose them, yet they share most of their pixels. The rule that found them (`lookalike_candidates`, run with
# verifier orb-v4): among each picture's 10 nearest others of its source by embedding (cosine >= 0.80), pairs of
# different products (H&M product_code, Myntra id) that are not the same photo (the accuracy benchmark's
# REUSED_PHOTO_MAE test) and that the verifier aligned closely (at least 30 matching details, then grey-level
# correlation >= 0.8 and agreement >= 0.7) or already proposed as duplicates (score >= 0.6). Only pairs whose two
# products fall in the same half are kept. Every pair was then looked at: 255 of the 258 show visibly different
# garments in one template; left out, because no difference could be seen, are Myntra 12036/12037 (white shirts),
# 18448/18450 (one perfume photo) and 18829/18831 (one belt photo, a slight colour shift).
# One line per first picture: "source id: the ids it looks like".
LOOKALIKES = """
hm 0144993001: 0297078001
hm 0341129001: 0362219001
myntra 10447: 13434
myntra 10486: 14079
myntra 10994: 17936
myntra 11062: 11064
myntra 11067: 14620
myntra 11102: 11105 12010
myntra 11104: 12004
myntra 11105: 12010
myntra 11111: 11112
myntra 11112: 17569
myntra 11294: 11310
myntra 11388: 11417
myntra 11404: 18859
myntra 11451: 11478
myntra 11465: 18859
myntra 11615: 14540
myntra 11696: 16272
myntra 11900: 11901
myntra 11999: 12023 12028 17562
myntra 12000: 12007 12022 12026 12029 12036 12037 12340
myntra 12003: 12004 12012 12032
myntra 12004: 12032 14511 14515 14706
myntra 12007: 12029 12298 12340
myntra 12010: 12042 13662 21022
myntra 12012: 12032
myntra 12022: 12029 12036 12037 12279 12340
myntra 12023: 12028 12265
myntra 12026: 12031 12039 14513 14712 15579 20370
myntra 12028: 12042 12244 12265 12273 14514 20030
myntra 12029: 12340
myntra 12031: 12039 14513 14712 16357 19201
myntra 12032: 14511 14515
myntra 12034: 12042 12318
myntra 12042: 12318 13662
myntra 12196: 13434
myntra 12200: 14097
myntra 12216: 12289 12748
myntra 12222: 12289 12748
myntra 12244: 12265 12273
myntra 12257: 12279 12298
myntra 12273: 14514
myntra 12289: 12748
myntra 12318: 15913
myntra 12381: 14756
myntra 12497: 12644
myntra 12582: 12602
myntra 12612: 13637
myntra 12658: 12666
myntra 12729: 16630
myntra 12748: 15119 17580
myntra 13434: 13439
myntra 13464: 19717
myntra 13517: 20288
myntra 13567: 13570
myntra 13613: 13618
myntra 13730: 13765
myntra 13770: 13776
myntra 14060: 18643
myntra 14068: 14079 18859 19554
myntra 14079: 18859 19554 20362
myntra 14511: 14515 14706 15912
myntra 14513: 14620 14712
myntra 14514: 14521
myntra 14515: 14706 15912
myntra 14518: 15913
myntra 14620: 14712
myntra 14750: 16357 17549
myntra 14767: 17541 17562 17569
myntra 15023: 16704
myntra 15113: 15114 15124
myntra 15118: 15119 15121 16614
myntra 15119: 15121 16614
myntra 15121: 16614
myntra 15479: 15528
myntra 15579: 20370
myntra 15671: 15672
myntra 15680: 15684
myntra 15682: 15684
myntra 15690: 15693
myntra 15751: 15765
myntra 15757: 15762
myntra 15782: 15904
myntra 15793: 15904
myntra 15818: 15820
myntra 15977: 15983
myntra 16056: 16070
myntra 16057: 16506
myntra 16066: 16067
myntra 16124: 16648 18621 18622
myntra 16146: 19010
myntra 16272: 19717
myntra 16319: 16320
myntra 16333: 16339
myntra 16341: 16357 16388
myntra 16344: 16355
myntra 16357: 16387 16388 19201
myntra 16363: 16365
myntra 16381: 16391
myntra 16387: 16388
myntra 16423: 16426
myntra 16555: 19554
myntra 16612: 16614
myntra 16625: 16626
myntra 16626: 16631 16641 16643
myntra 16631: 16641
myntra 16647: 16648
myntra 16648: 16649 18621 18622 18643 19566
myntra 16649: 18621 18622 18643
myntra 16927: 16928
myntra 16928: 19550 19953
myntra 17316: 17326
myntra 17327: 17330
myntra 17535: 17538 17541 17562 17569
myntra 17538: 17541 17562 17569
myntra 17541: 17562 17569
myntra 17549: 17554 17565 20370
myntra 17554: 17565
myntra 17562: 17569
myntra 17874: 18636
myntra 17875: 17889
myntra 17877: 18617
myntra 17935: 17936
myntra 17946: 18000
myntra 17992: 17994
myntra 17994: 18006
myntra 18231: 18232
myntra 18619: 18636
myntra 18621: 18622 18643
myntra 18622: 18643 19566 19733
myntra 18632: 18634
myntra 18643: 18991
myntra 18712: 18713
myntra 18859: 19554
myntra 18886: 18887
myntra 18991: 19566
myntra 19109: 19110
myntra 19145: 19536
myntra 19198: 20030
myntra 19321: 19718
myntra 19395: 19397
myntra 19550: 19561 19641 19953 20203
myntra 19561: 19641
myntra 19633: 19957
myntra 19641: 19953
myntra 19699: 19717
myntra 19716: 20030
myntra 19750: 19752 19753
myntra 19752: 19753
myntra 19791: 19807
myntra 19930: 19934 19937
myntra 19934: 19937
myntra 19991: 19995
myntra 20126: 20127
myntra 20223: 20224 20228
myntra 20224: 20228
myntra 20234: 20237
myntra 21103: 21107
myntra 21339: 21340
myntra 21351: 21353
myntra 21379: 21381
myntra 21391: 21393
myntra 21393: 21396
"""
LOOKALIKE_RULE = {"neighbours": 10, "cosine": 0.80, "inliers": 30, "ncc": 0.8, "agree": 0.7, "score": 0.6}


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


def lookalike_pairs(source: str, groups: dict[str, list[Path]]) -> list[tuple[tuple[str, Path], tuple[str, Path]]]:
    """The confirmed look-alike pairs of one source as ((code, path), (code, path)); both codes share a half."""
    where = {path.stem: (code, path) for code, paths in groups.items() for path in paths}
    pairs = []
    for line in LOOKALIKES.strip().splitlines():
        head, others = line.split(":")
        src, a = head.split()
        if src != source:
            continue
        pairs += [(where[a], where[b]) for b in others.split() if a in where and b in where]
    return pairs


def lookalike_candidates(source: str, rule: dict = LOOKALIKE_RULE) -> list[dict]:
    """Pairs that meet the look-alike rule (see LOOKALIKES) with today's embedder and verifier, for a person to
    review; the reviewed list is what the benchmark uses, so a later verifier cannot move its own labels."""
    import numpy as np

    from fashionsim_desktop.core.embedder import Embedder
    from fashionsim_desktop.core.imaging import decode_file
    from fashionsim_desktop.core.pairs import score
    from fashionsim_desktop.core.verify import Prepared, verify

    from .accuracy import reused_photos

    groups = hm_products() if source == "hm" else myntra_products()
    pictures = [(code, path) for code in sorted(groups) for path in groups[code]]
    embedder = Embedder(threads=2)
    vectors = np.concatenate([embedder.embed([decode_file(str(p)).image for _, p in pictures[i:i + 32]])
                              for i in range(0, len(pictures), 32)])
    near = vectors @ vectors.T
    np.fill_diagonal(near, -1.0)
    prepared = {}

    def prepare(path):
        if path not in prepared:
            prepared[path] = Prepared(np.asarray(decode_file(str(path)).image))
        return prepared[path]

    found, seen = [], set()
    for i in range(len(pictures)):
        for j in np.argsort(-near[i])[:rule["neighbours"]]:
            (code_a, a), (code_b, b) = sorted((pictures[i], pictures[int(j)]))
            if near[i, j] < rule["cosine"] or code_a == code_b or _split_of(code_a) != _split_of(code_b) \
                    or (a, b) in seen:
                continue
            seen.add((a, b))
            ev = verify(prepare(a), prepare(b))
            aligned = ev.inliers >= rule["inliers"] and ev.ncc >= rule["ncc"] and ev.agree >= rule["agree"]
            if (aligned or score(ev) >= rule["score"]) and not reused_photos(a.parents[1], [
                    str(a.relative_to(a.parents[1])), str(b.relative_to(a.parents[1]))]):
                found.append({"source": source, "a": a.stem, "b": b.stem, "split": _split_of(code_a),
                              "score": round(score(ev), 3), **ev.as_dict()})
    return found


def build(out: Path, source: str = "hm", originals: int = 400, split: str = "tune", seed: int = 7) -> dict:
    rng = random.Random(seed)
    groups = hm_products() if source == "hm" else myntra_products()
    codes = sorted(code for code in groups if _split_of(code) == split)
    rng.shuffle(codes)
    reused = reused_photo_groups(groups)
    reused_here = [g for g in reused if _split_of(g[0][0]) == split]
    elsewhere = {code for g in reused if _split_of(g[0][0]) != split for code, _ in g}
    lookalikes = [(a, b) for a, b in lookalike_pairs(source, groups)
                  if _split_of(a[0]) == split and not {a[0], b[0]} & elsewhere]
    out.mkdir(parents=True, exist_ok=True)
    chosen: list[tuple[str, Path]] = []
    for code in codes:
        if code in elsewhere:  # its photo is reused by a product of the other half: it belongs there
            continue
        for path in groups[code]:
            chosen.append((code, path))
        if len(chosen) >= originals:
            break
    # Every reused photo of this half is in the set, with all its ids (the benchmark labels them duplicates), and
    # both pictures of every look-alike pair of this half (each gets a variant like any original).
    have = {path for _, path in chosen}
    for code, path in [item for g in reused_here for item in g] + [item for pair in lookalikes for item in pair]:
        if path not in have:
            chosen.append((code, path))
            have.add(path)
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
        kind = BENCHMARK_KINDS[i % len(BENCHMARK_KINDS)]
        with Image.open(path) as im:
            variant, fmt = make_variant(im, kind, rng)
        (out / "variants" / kind).mkdir(parents=True, exist_ok=True)
        written = save_variant(variant, fmt, out / "variants" / kind / path.name)
        positives.append({"a": rel_of[path], "b": str(Path(written).relative_to(out)), "kind": kind})
    siblings = [
        {"a": members[i], "b": members[j]}
        for members in by_code.values() for i in range(len(members)) for j in range(i + 1, len(members))
    ]
    lookalike_labels = [{"a": rel_of[a], "b": rel_of[b]} for (_, a), (_, b) in lookalikes]
    labels = {"source": source, "split": split, "seed": seed, "positives": positives, "siblings": siblings,
              "lookalikes": lookalike_labels}
    (out / "labels.json").write_text(json.dumps(labels, indent=1))
    return labels


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Build a labelled near-duplicate set.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--source", choices=["hm", "myntra"], default="hm")
    parser.add_argument("--originals", type=int, default=400)
    parser.add_argument("--split", choices=["tune", "check"], default="tune")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--lookalike-candidates", action="store_true",
                        help="write the pairs that meet the look-alike rule to OUT (JSON) for review, and stop")
    args = parser.parse_args(argv)
    if args.lookalike_candidates:
        found = lookalike_candidates(args.source)
        args.out.write_text(json.dumps(found, indent=1))
        print(f"{len(found)} look-alike candidates of {args.source} in {args.out}")
        return 0
    labels = build(args.out, args.source, args.originals, args.split, args.seed)
    print(f"{len(labels['positives'])} true pairs, {len(labels['siblings'])} colourway sibling pairs in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
