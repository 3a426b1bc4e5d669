"""Accuracy and speed of FashionSim against the tools curators use today, side by side, in one run.

    python -m benchmarks.accuracy [--out DIR] [--hm N] [--myntra N]

1. Builds a labelled folder from ../shared/data (never shipped): held-out H&M products (the "check" half; the
   scorer was fitted on the other half) and Myntra photos, one generated near-duplicate variant per original
   (12 kinds, seeded: benchmarks/variants.py), plus the real reused photos already in the data (labelled by a
   tool-independent pixel test). Hard negatives: colourway siblings (one product in two colours) and look-alike
   pairs (two products photographed in one template, reviewed by eye: benchmarks/dataset.py LOOKALIKES).
2. Runs, each in its own process (wall time and peak memory measured there):
   - FashionSim's own CLI end to end (`fashionsim index`, then `fashionsim pairs --format json`);
   - pHash and dHash as imagehash computes them, at Hamming distance <= 10 (the common default), all pairs;
   - cleanvision (PyPI) near- and exact-duplicate detection with its defaults;
   - fastdup (PyPI) with its defaults and its own CNN model, in a virtual environment of its own (created under
     the work folder on first use: fastdup pins older numpy and pillow than FashionSim);
   - an ablation, not a tool curators use: FashionSim's own embedding alone (same ONNX model, one process),
     cosine >= 0.90, no verification; it shows what verification adds and what it costs.
3. Reports pair precision / recall / F1 at each tool's default, average precision over the score, recall per
   variant kind, the colourway-sibling and look-alike pairs proposed, and visual-search recall; writes
   results.json, results.md and pr_curves.png into DIR (default benchmarks/results).

`--split tune` measures the half the scorer is tuned on; `--tools FashionSim` runs only the named tools.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
SEED = 2026
HM_ORIGINALS = 700
MYNTRA_ORIGINALS = 300
REUSED_PHOTO_MAE = 3.0  # mean absolute grey difference (0..255) at 32x32: the same photo re-used
PLAIN_COSINE = 0.90
ABLATION = "Embedding alone, cosine >= 0.90 (ablation: FashionSim's model, no verification)"
FASTDUP = "fastdup==2.54"


# -- the labelled set ------------------------------------------------------------------------------
def build_set(out: Path, hm: int, myntra: int, split: str = "check") -> dict:
    from .dataset import build

    if out.exists():
        shutil.rmtree(out)
    parts = {"hm": build(out / "hm", "hm", hm, split, SEED), "myntra": build(out / "myntra", "myntra", myntra,
                                                                             split, SEED + 1)}
    files, truth_pairs, kinds, siblings, lookalikes = [], [], {}, [], []
    article_of = {}
    for name, labels in parts.items():
        for p in labels["positives"]:
            a, b = f"{name}/{p['a']}", f"{name}/{p['b']}"
            truth_pairs.append((a, b))
            kinds[(a, b)] = p["kind"]
            article_of[a] = article_of[b] = f"{name}:{Path(p['a']).stem}"
        for s in labels["siblings"]:
            siblings.append((f"{name}/{s['a']}", f"{name}/{s['b']}"))
        for s in labels["lookalikes"]:
            lookalikes.append((f"{name}/{s['a']}", f"{name}/{s['b']}"))
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.suffix in (".jpg", ".png", ".webp"))
    reused = reused_photos(out, [f for f in files if "/originals/" in f])
    labels = {"files": files, "variant_pairs": truth_pairs, "kinds": {f"{a}|{b}": k for (a, b), k in kinds.items()},
              "reused_pairs": reused, "sibling_pairs": siblings, "lookalike_pairs": lookalikes,
              "article_of": article_of,
              "settings": {"seed": SEED, "hm": hm, "myntra": myntra, "split": split,
                           "reused_mae": REUSED_PHOTO_MAE}}
    (out / "labels.json").write_text(json.dumps(labels))
    return labels


def reused_photos(root: Path, originals: list[str]) -> list[tuple[str, str]]:
    """Pairs of originals that are the same photo, by a pixel test independent of every tool.

    At 64x64, the pixels where either picture shows garment (darker than the white studio) must agree to within
    REUSED_PHOTO_MAE on average in every colour channel; comparing the whole frame instead would pair any two
    white garments, and comparing grey levels alone paired a gold and a silver set of rings photographed alike
    (a colourway, not a reused photo).
    """
    from PIL import Image

    thumbs = np.stack([np.asarray(Image.open(root / f).convert("RGB").resize((64, 64), Image.Resampling.BILINEAR),
                                  np.float32) for f in originals])
    garment = (thumbs.mean(axis=3) < 235).reshape(len(originals), -1)
    thumbs = thumbs.reshape(len(originals), -1, 3)
    pairs = []
    for i in range(len(originals)):
        either = garment[i + 1:] | garment[i]
        area = either.sum(axis=1)
        channel_diff = np.abs(thumbs[i + 1:] - thumbs[i])  # (others, pixels, 3)
        diff = (channel_diff * either[:, :, None]).sum(axis=1) / np.maximum(area, 1)[:, None]
        for j in np.nonzero((diff.max(axis=1) < REUSED_PHOTO_MAE) & (area > 0.02 * garment.shape[1]))[0]:
            pairs.append((originals[i], originals[i + 1 + int(j)]))
    return pairs


def truth_groups(labels: dict) -> dict[str, int]:
    from fashionsim_desktop.core.review import UnionFind

    groups = UnionFind()
    for a, b in labels["variant_pairs"] + [tuple(p) for p in labels["reused_pairs"]]:
        groups.join(a, b)
    roots = {f: groups.find(f) for f in labels["files"]}
    ids = {r: i for i, r in enumerate(sorted(set(roots.values())))}
    return {f: ids[r] for f, r in roots.items()}


# -- the tools (each run in its own process) ---------------------------------------------------------
def tool_fashionsim(folder: Path, work: Path) -> dict:
    env = dict(os.environ, FASHIONSIM_HOME=str(work / "home"))
    cat = work / "catalog"
    start, cpu = time.perf_counter(), _children_cpu()
    subprocess.run([sys.executable, "-m", "fashionsim_desktop", "index", str(folder), "--catalog", str(cat)],
                   check=True, env=env, cwd=REPO, capture_output=True)
    # Indexing alone (`pairs` below also decodes pictures to suggest keepers). CPU seconds, the index process and
    # its workers together, move far less than wall time when other work shares the machine.
    index_seconds, index_cpu = time.perf_counter() - start, _children_cpu() - cpu
    out = subprocess.run([sys.executable, "-m", "fashionsim_desktop", "pairs", "--catalog", str(cat),
                          "--min-score", "0", "--format", "json"], check=True, env=env, cwd=REPO,
                         capture_output=True, text=True).stdout
    from fashionsim_desktop.core.pairs import DEFAULT_MIN_SCORE

    pairs = json.loads(out)
    tiers = [[a, b, t] for (a, b), t in file_tiers(pairs).items()]
    return {"scores": file_pairs(pairs), "threshold": DEFAULT_MIN_SCORE, "catalog": str(cat), "tiers": tiers,
            "index_seconds": index_seconds, "index_cpu_seconds": index_cpu}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def file_pairs(pairs: list[dict]) -> list[tuple[str, str, float]]:
    """FashionSim's pairs as file pairs.

    FashionSim lists a pair of contents once (decisions are keyed by sha256), naming one file of each side, and
    lists byte copies as "exact" pairs. The files of one content are all the same photo, so a near pair holds for
    every copy of either side: (variant, photo) with photo stored under two ids is two file pairs.
    """
    files_of: dict[str, set[str]] = defaultdict(set)
    for p in pairs:
        files_of[p["sha256_a"]].add(p["path_a"])
        files_of[p["sha256_b"]].add(p["path_b"])
    best: dict[tuple[str, str], float] = {}
    for p in pairs:
        for a in files_of[p["sha256_a"]]:
            for b in files_of[p["sha256_b"]]:
                if a != b:
                    key = (min(a, b), max(a, b))
                    best[key] = max(best.get(key, 0.0), p.get("score") or 0.0)  # product-tier pairs: no score
    return [(a, b, score) for (a, b), score in sorted(best.items())]


def file_tiers(pairs: list[dict]) -> dict[tuple[str, str], str]:
    """The tier FashionSim gave each file pair, where its output names one (closest tier wins)."""
    order = ("exact", "duplicate", "variant", "similar")
    tiers: dict[tuple[str, str], str] = {}
    for p in pairs:
        tier = p.get("tier")
        if tier in order:
            key = (min(p["path_a"], p["path_b"]), max(p["path_a"], p["path_b"]))
            if key not in tiers or order.index(tier) < order.index(tiers[key]):
                tiers[key] = tier
    return tiers


def _all_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.suffix in (".jpg", ".png", ".webp"))


def tool_imagehash(folder: Path, work: Path, kind: str) -> dict:
    import imagehash
    from PIL import Image

    files = _all_files(folder)
    fn = imagehash.phash if kind == "phash" else imagehash.dhash
    hashes = np.array([int(str(fn(Image.open(folder / f))), 16) for f in files], dtype=np.uint64)
    scores = []
    for i in range(len(files)):
        x = np.bitwise_xor(hashes[i + 1:], hashes[i])
        dist = np.unpackbits(x.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)
        for j in np.nonzero(dist <= 24)[0]:  # keep a margin above the default for the curve
            scores.append((files[i], files[i + 1 + int(j)], 1.0 - float(dist[j]) / 64))
    return {"scores": scores, "threshold": 1.0 - 10 / 64}


def tool_cleanvision(folder: Path, work: Path) -> dict:
    from cleanvision import Imagelab

    lab = Imagelab(data_path=str(folder))
    lab.find_issues({"near_duplicates": {}, "exact_duplicates": {}})
    scores = []
    for issue in ("near_duplicates", "exact_duplicates"):
        for group in lab.info[issue]["sets"]:
            rel = [str(Path(p).resolve().relative_to(folder.resolve())) for p in group]
            scores += [(a, b, 1.0) for a, b in combinations(sorted(rel), 2)]
    return {"scores": scores, "threshold": 1.0}


def fastdup_python(work_root: Path) -> Path:
    """The Python of fastdup's own virtual environment, created on first use (not timed)."""
    venv = work_root / "venvs" / "fastdup"
    python = venv / "bin" / "python"
    if not (venv / "ready").exists():
        print(f"installing {FASTDUP} into {venv} (once) ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", FASTDUP], check=True)
        (venv / "ready").touch()
    return python


def tool_fastdup(folder: Path, work: Path) -> dict:
    out = work / "pairs.json"
    subprocess.run([str(fastdup_python(work.parent)), str(REPO / "benchmarks" / "fastdup_runner.py"), str(folder),
                    str(work / "fastdup"), str(out)], check=True, capture_output=True,
                   env=dict(os.environ, SENTRY_OPT_OUT="1"))
    return {"scores": [tuple(p) for p in json.loads(out.read_text())["pairs"]], "threshold": 0.9}


def tool_plain_embedding(folder: Path, work: Path) -> dict:
    from fashionsim_desktop.core.embedder import Embedder
    from fashionsim_desktop.core.imaging import decode_file

    files = _all_files(folder)
    embedder = Embedder(threads=2)
    vectors = np.concatenate([embedder.embed([decode_file(str(folder / f)).image for f in files[i:i + 16]])
                              for i in range(0, len(files), 16)])
    sims = vectors @ vectors.T
    scores = []
    for i, j in zip(*np.nonzero(np.triu(sims >= 0.8, k=1))):
        scores.append((files[i], files[j], float(sims[i, j])))
    return {"scores": scores, "threshold": PLAIN_COSINE}


TOOLS = {
    "FashionSim": tool_fashionsim,
    "pHash <= 10 (imagehash)": lambda f, w: tool_imagehash(f, w, "phash"),
    "dHash <= 10 (imagehash)": lambda f, w: tool_imagehash(f, w, "dhash"),
    "cleanvision (defaults)": tool_cleanvision,
    "fastdup (defaults)": tool_fastdup,
    ABLATION: tool_plain_embedding,
}


# Issue 4's speed target: FashionSim within 1.2x of the fastest existing tool that computes a CNN embedding.
CNN_TOOLS = ("fastdup (defaults)",)


def run_tool_in_process(name: str, folder: Path, work: Path) -> dict:
    """Child-process entry: run one tool, add wall time and peak memory (itself and its children)."""
    start = time.perf_counter()
    result = TOOLS[name](folder, work)
    result["seconds"] = time.perf_counter() - start
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result["peak_mb"] = max(_own_peak_mb(), children)
    return result


def _own_peak_mb() -> float:
    """This process's peak resident memory since it started.

    Not getrusage(RUSAGE_SELF): on Linux its ru_maxrss carries over the high-water mark of the process that
    forked it, so every tool was charged at least this benchmark's own memory at that moment. VmHWM belongs to
    the process's own address space. (Its children are forked from this small process, so RUSAGE_CHILDREN is
    fair for them.)
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- scoring ----------------------------------------------------------------------------------------
def evaluate(result: dict, labels: dict, group_of: dict) -> dict:
    positives = {frozenset(p) for members in _members(group_of).values() for p in combinations(members, 2)}
    siblings = {frozenset(p) for p in _article_pairs(labels, labels["sibling_pairs"], group_of)}
    lookalikes = {frozenset(p) for p in _article_pairs(labels, labels.get("lookalike_pairs", []), group_of)}
    scored = {}
    for a, b, s in result["scores"]:
        key = frozenset((a, b))
        scored[key] = max(scored.get(key, 0.0), s)
    predicted = {k for k, s in scored.items() if s >= result["threshold"] - 1e-9}
    tp = len(predicted & positives)
    precision = tp / len(predicted) if predicted else 0.0
    recall = tp / len(positives) if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    per_kind = defaultdict(list)
    for key, kind in labels["kinds"].items():
        a, b = key.split("|")
        per_kind[kind].append(frozenset((a, b)) in predicted)
    per_kind["reused photo"] = [frozenset(p) in predicted for p in labels["reused_pairs"]]
    # Precision-recall curve over the tool's score; pairs it never scored count as missed.
    order = sorted(scored.items(), key=lambda kv: -kv[1])
    hits = np.array([k in positives for k, _ in order], dtype=float)
    cum = np.cumsum(hits)
    prec_curve = cum / np.arange(1, len(hits) + 1) if len(hits) else np.array([])
    rec_curve = cum / max(1, len(positives))
    ap = float(np.sum(prec_curve * hits) / max(1, len(positives))) if len(hits) else 0.0
    sweep = {}
    for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        chosen = {k for k, s in scored.items() if s >= t}
        good = len(chosen & positives)
        sweep[t] = {"precision": good / max(1, len(chosen)), "recall": good / max(1, len(positives)),
                    "siblings": len(chosen & siblings), "lookalikes": len(chosen & lookalikes)}
    return {
        "sweep": sweep,
        "precision": precision, "recall": recall, "f1": f1, "average_precision": ap,
        "proposed": len(predicted), "true_pairs": len(positives),
        "recall_per_kind": {k: float(np.mean(v)) if v else None for k, v in sorted(per_kind.items())},
        "sibling_pairs": len(siblings), "siblings_proposed": len(predicted & siblings),
        "lookalike_pairs": len(lookalikes), "lookalikes_proposed": len(predicted & lookalikes),
        "tiers": _tiers_right(result.get("tiers"), positives, siblings, lookalikes),
        "curve": {"precision": prec_curve[:: max(1, len(prec_curve) // 400)].tolist(),
                  "recall": rec_curve[:: max(1, len(rec_curve) // 400)].tolist()},
        "seconds": result["seconds"], "seconds_runs": result.get("seconds_runs", [result["seconds"]]),
        "index_seconds_runs": result.get("index_seconds_runs", []),
        "index_cpu_seconds_runs": result.get("index_cpu_seconds_runs", []),
        "peak_mb": result["peak_mb"],
    }


def _members(group_of: dict) -> dict[int, list[str]]:
    members = defaultdict(list)
    for f, g in group_of.items():
        members[g].append(f)
    return members


def _tiers_right(tiers, positives: set, siblings: set, lookalikes: set):
    """Of the labelled pairs the tool gave a tier, how many got the right one. Two readings:
    - `right`: true pairs exact or duplicate, colourway and look-alike pairs anything else (duplicate or not);
    - `right_strict`: also colourway pairs `variant` (the same product in another colour) and look-alike pairs
      `similar` (another product of the same kind).
    None when the tool gives no tiers."""
    if not tiers:
        return None
    given = {frozenset((a, b)): t for a, b, t in tiers}
    right = strict = total = 0
    confusion: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key, tier in given.items():
        label = "true pair" if key in positives else "colourway" if key in siblings else \
            "look-alike" if key in lookalikes else None
        if label is None:
            continue
        total += 1
        confusion[label][tier] += 1
        duplicate = tier in ("exact", "duplicate")
        right += duplicate == (label == "true pair")
        strict += duplicate if label == "true pair" else tier == ("variant" if label == "colourway" else "similar")
    return {"right": right, "right_strict": strict, "labelled": total,
            "confusion": {label: dict(row) for label, row in confusion.items()}}


def _article_pairs(labels: dict, pairs: list, group_of: dict) -> list[tuple[str, str]]:
    """Every file of one labelled article (its original and variant) paired with every file of the other: for
    colourway siblings and look-alikes, a variant of one is no closer to the other than its original."""
    by_article = defaultdict(list)
    for f in labels["files"]:
        by_article[labels["article_of"].get(f, f)].append(f)
    out = []
    for a, b in pairs:
        for x in by_article[labels["article_of"][a]]:
            for y in by_article[labels["article_of"][b]]:
                if group_of[x] != group_of[y]:
                    out.append((x, y))
    return out


def search_recall(catalog_dir: Path, labels: dict, group_of: dict) -> dict:
    from fashionsim_desktop.core.search import Searcher
    from fashionsim_desktop.store.catalog import Catalog

    with Catalog(catalog_dir) as catalog:
        searcher = Searcher(catalog)
        sha_of = {f["path"]: f["sha256"] for f in catalog.present_files()}
        at1 = at10 = n = 0
        for key in labels["kinds"]:
            original, variant = key.split("|")
            hits = [h.path for h in searcher.similar_to(sha_of[variant], 10)]
            members = {f for f in labels["files"] if group_of[f] == group_of[original]} - {variant}
            n += 1
            at1 += bool(hits[:1]) and hits[0] in members
            at10 += any(h in members for h in hits)
        sib_found = sib_total = 0
        for a, b in labels["sibling_pairs"]:
            for x, y in ((a, b), (b, a)):
                hits = {h.path for h in searcher.similar_to(sha_of[x], 10)}
                sib_total += 1
                sib_found += y in hits
        searcher.close()
    return {"variant_recall_at_1": at1 / n, "variant_recall_at_10": at10 / n,
            "colourway_recall_at_10": sib_found / max(1, sib_total)}


# -- reporting ----------------------------------------------------------------------------------------
def write_report(out: Path, metrics: dict, search: dict, labels: dict) -> str:
    kinds = sorted({k for m in metrics.values() for k in m["recall_per_kind"]})
    lines = ["| tool | precision | recall | F1 | AP | colourway pairs proposed | look-alike pairs proposed | time | "
             "peak memory |", "|---|---|---|---|---|---|---|---|---|"]
    for name, m in metrics.items():
        lines.append(f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | "
                     f"{m['average_precision']:.3f} | {m['siblings_proposed']} of {m['sibling_pairs']} | "
                     f"{m['lookalikes_proposed']} of {m['lookalike_pairs']} | "
                     f"{m['seconds']:.0f} s | {m['peak_mb']:.0f} MB |")
    runs = next(iter(metrics.values()))["seconds_runs"]
    lines += ["", f"Time: the median of {len(runs)} runs of each tool, interleaved (one of every tool per round). "
                  "Runs per tool: " + "; ".join(f"{name} " + " / ".join(f"{t:.0f}" for t in m["seconds_runs"]) + " s"
                                                for name, m in metrics.items()) + "."]
    indexing = metrics.get("FashionSim", {})
    if indexing.get("index_seconds_runs"):
        lines.append("FashionSim's indexing alone (`fashionsim index`, without listing the pairs): "
                     + " / ".join(f"{t:.1f}" for t in indexing["index_seconds_runs"]) + " s wall, "
                     + " / ".join(f"{t:.1f}" for t in indexing["index_cpu_seconds_runs"]) + " s CPU.")
    embedding_tools = [name for name in metrics if name in CNN_TOOLS]
    if embedding_tools and "FashionSim" in metrics:
        fastest = min(embedding_tools, key=lambda n: metrics[n]["seconds"])
        lines.append(f"FashionSim's time is {metrics['FashionSim']['seconds'] / metrics[fastest]['seconds']:.2f}x "
                     f"that of the fastest existing tool that computes a CNN embedding ({fastest}); target 1.2x.")
    if ABLATION in metrics and "FashionSim" in metrics:
        lines.append(f"It is {metrics['FashionSim']['seconds'] / metrics[ABLATION]['seconds']:.2f}x the ablation "
                     "(its own embedding with no verification): the cost of verifying the candidates.")
    lines += ["", "Recall per kind of duplicate:", "", "| tool | " + " | ".join(kinds) + " |",
              "|---|" + "---|" * len(kinds)]
    for name, m in metrics.items():
        cells = [f"{m['recall_per_kind'].get(k):.2f}" if m["recall_per_kind"].get(k) is not None else "-"
                 for k in kinds]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    tiers = metrics.get("FashionSim", {}).get("tiers")
    if tiers:
        lines += ["", f"Tiers (FashionSim), of the {tiers['labelled']} labelled pairs it lists: {tiers['right']} "
                      f"({tiers['right'] / tiers['labelled']:.3f}) are duplicates or not as labelled (true pairs exact "
                      f"or duplicate, colourway and look-alike pairs neither); {tiers['right_strict']} "
                      f"({tiers['right_strict'] / tiers['labelled']:.3f}) have exactly the right tier (colourways "
                      "variant, look-alikes similar). Tiers given per label: " +
                      "; ".join(f"{label}: " + ", ".join(f"{t} {n}" for t, n in sorted(row.items()))
                                for label, row in sorted(tiers["confusion"].items())) + "."]
    if search:
        lines += ["", f"Visual search (FashionSim): the original (or a copy of it) is the first result for "
                      f"{search['variant_recall_at_1']:.3f} of variant queries and in the top 10 for "
                      f"{search['variant_recall_at_10']:.3f}; colourway siblings appear in the top 10 "
                      f"{search['colourway_recall_at_10']:.3f} of the time (\"similar products\")."]
    first = next(iter(metrics.values()))
    lines += ["", f"Set: {len(labels['files'])} pictures, {first['true_pairs']} true pairs "
                  f"({len(labels['variant_pairs'])} generated variants, {len(labels['reused_pairs'])} reused "
                  f"photos already in the data), {first['sibling_pairs']} colourway-sibling pairs, "
                  f"{first['lookalike_pairs']} look-alike pairs ({len(labels['lookalike_pairs'])} reviewed pairs of "
                  f"originals, each side with its variant). Seed {SEED}, split \"{labels['settings']['split']}\"."]
    text = "\n".join(lines) + "\n"
    (out / "results.md").write_text(text)
    (out / "results.json").write_text(json.dumps({"metrics": metrics, "search": search}, indent=1))
    return text


def plot(out: Path, metrics: dict) -> None:
    try:
        import matplotlib
    except ImportError:
        print("pr_curves.png not drawn: matplotlib is not installed", file=sys.stderr)
        return

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 6.2), dpi=110)
    for name, m in metrics.items():
        if len(m["curve"]["recall"]) > 1:
            line, = ax.plot(m["curve"]["recall"], m["curve"]["precision"], label=f"{name} (AP {m['average_precision']:.2f})")
            colour = line.get_color()
        else:
            colour = None
        ax.scatter([m["recall"]], [m["precision"]], color=colour, marker="o", zorder=3,
                   label=None if colour else f"{name} (one setting)")
    ax.set_xlabel("recall (true duplicate pairs found)")
    ax.set_ylabel("precision (proposed pairs that are true)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title("Duplicate pairs on held-out packshots: dots mark each tool's default")
    # Below the axes: inside, it hid the hash tools' curves and defaults.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=7.5, frameon=False)
    fig.tight_layout()
    fig.savefig(out / "pr_curves.png", bbox_inches="tight")


def chosen_tools(names) -> list[str]:
    if not names:
        return list(TOOLS)
    wanted = [n.strip().lower() for n in names.split(",") if n.strip()]
    tools = [t for t in TOOLS if any(t.lower() == w or t.split()[0].lower() == w for w in wanted)]
    if not tools:
        raise SystemExit(f"no tool named {names!r}; tools: " + "; ".join(TOOLS))
    return tools


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="FashionSim vs common tools")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--work", type=Path, default=Path("/tmp/fashionsim-accuracy"))
    parser.add_argument("--hm", type=int, default=HM_ORIGINALS)
    parser.add_argument("--myntra", type=int, default=MYNTRA_ORIGINALS)
    parser.add_argument("--split", choices=["check", "tune"], default="check",
                        help="check: products the scorer never saw (the published figures); tune: the other half")
    parser.add_argument("--timing-rounds", type=int, default=3,
                        help="run every tool this many times, interleaved, and report the median wall time")
    parser.add_argument("--tools", help="comma-separated tool names (or their first words) to run; default all, "
                                        "e.g. --tools FashionSim")
    parser.add_argument("--run-tool", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    folder = args.work / "set"
    if args.run_tool:
        result = run_tool_in_process(args.run_tool, folder, args.work / args.run_tool.split()[0])
        print(json.dumps(result))
        return 0
    labels = build_set(folder, args.hm, args.myntra, args.split)
    tools = chosen_tools(args.tools)
    try:
        if "fastdup (defaults)" in tools:
            fastdup_python(args.work)  # install before anything is timed
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"fastdup left out of this run: its environment could not be set up ({exc})", file=sys.stderr)
        tools.remove("fastdup (defaults)")
    group_of = truth_groups(labels)
    args.out.mkdir(parents=True, exist_ok=True)
    # Wall times on this kind of machine vary by 15-25% from one minute to the next. Every tool runs once per
    # round, rounds are interleaved so a slow spell hits all tools alike, and the median is reported.
    metrics, results, seconds, peaks = {}, {}, defaultdict(list), defaultdict(list)
    indexing, indexing_cpu = defaultdict(list), defaultdict(list)
    for round_no in range(1, args.timing_rounds + 1):
        for name in tools:
            work = args.work / name.split()[0]
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            print(f"round {round_no}/{args.timing_rounds}: running {name} ...", file=sys.stderr, flush=True)
            proc = subprocess.run([sys.executable, "-m", "benchmarks.accuracy", "--work", str(args.work),
                                   "--run-tool", name], cwd=REPO, capture_output=True, text=True, check=True)
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            seconds[name].append(result["seconds"])
            if "index_seconds" in result:
                indexing[name].append(result["index_seconds"])
                indexing_cpu[name].append(result["index_cpu_seconds"])
            peaks[name].append(result["peak_mb"])
            results.setdefault(name, result)  # every tool is deterministic: its pairs are the same each round
    for name in tools:
        results[name].update(seconds=float(np.median(seconds[name])), seconds_runs=seconds[name],
                             peak_mb=max(peaks[name]), index_seconds_runs=indexing[name],
                             index_cpu_seconds_runs=indexing_cpu[name])
        metrics[name] = evaluate(results[name], labels, group_of)
    search = search_recall(Path(results["FashionSim"]["catalog"]), labels, group_of) if "FashionSim" in results \
        else None
    text = write_report(args.out, metrics, search, labels)
    plot(args.out, metrics)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
