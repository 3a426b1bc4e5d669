"""How FashionSim grows with the catalogue: every phase timed on a synthetic catalogue of N pictures.

    python -m benchmarks.scale --pictures N [--format text|json] [--json-out FILE] [--keep DIR] [--seed S]
    python -m benchmarks.scale --plot 100k.json 300k.json 1m.json --out growth.png

The catalogue is real: a FashionSim catalogue folder (SQLite + Annoy files) written and read through the app's
own code (store/catalog.py `Catalog`, the `Indexer`'s phases, core/ann.py, core/pairs.py, core/review.py,
core/bulk.py, core/search.py, core/export.py), and opened by the real window. Only the pictures are synthetic:

* embeddings: 1600-d, L2-normalised, structured like real ones, as in benchmarks/speed.py (products as random
  directions, each picture its product plus noise, so a product's pictures -- its colours and shots -- sit at
  cosine about 0.91), plus planted near duplicates: a share of the pictures (`--twin-share`, default 0.2) are
  edited copies of another picture (cosine 0.93-0.995). Generated in batches, product by product, so the
  generator never holds more than one batch (speed.py's generator holds every product vector: 1.6 GB at 1M);
* perceptual hashes (pHash, dHash): a product's pictures share most bits, a copy differs from its original in
  a few;
* files: one per picture in folders of 1,000, with sizes, dimensions and formats; they are not on disk.

Phases, in this order, each in this process unless said otherwise:

load             N pictures written as the index run writes them: the files (scan + checksum) and then each
                 chunk's features (`Catalog.upsert_files`, `Catalog.save_features`), in chunks of `--load-chunk`.
products         the index run's product phase (`Indexer._product_vectors`): product vectors from the stored
                 embeddings.
ann_build        the index run's index phase (`Indexer._build_index`): every embedding loaded, Annoy built and
                 saved, fingerprint stored.
pairs            the pair phase up to verification (what `Indexer._verify_pairs` calls): embeddings loaded, the
                 index loaded, `verified_keys`, `candidate_pairs`, `one_path_per_sha`, `locality_order`.
verify_bookkeeping  verification decodes the two pictures of every candidate pair (ORB + RANSAC); synthetic
                 rows have no pixels, so this times the verification *bookkeeping* instead: the `verified` rows
                 of every candidate pair written through the store (`Catalog.save_verified`, one transaction per
                 `VERIFY_CHUNK`, as the pair phase does). Planted copies get a duplicate score (0.7-0.99) and
                 evidence like a copy's, other candidates a low score. Pixel verification is not timed (see
                 benchmarks/speed.py for its rate on real packshots: it is linear in the candidate pairs).
tiers            the index run's tier phase (`Indexer._pair_tiers`): the product index and every pair's tier.
open_window      the real MainWindow in a subprocess (QT_QPA_PLATFORM=offscreen): from the process start to
                 the first pair shown in the review queue (`open_folder`: session load, every tab's set_session,
                 the first undecided pair selected and displayed). The window's background index run, which
                 `open_folder` starts, is switched off in that process: the synthetic files are not on disk, so
                 it would mark every picture missing (on a real folder it rescans, rebuilds the index and lists the
                 candidate pairs again, in the background: about ann_build + pairs of this benchmark).
search           `Searcher` (what `fashionsim search` and the Visual search tab use) opened once (search_open_s),
                 then the median of `--queries` "Find similar" queries (`grouped_similar_to`: copies, variants and
                 similar products by tier). Embedding the query picture (about 5 ms, the same at any size) is
                 left out.
decide           a share of the duplicate pairs (`--merge-share`) marked merge and 1% kept apart through
                 core/bulk.py (`plan` + `apply`: one undo step each, as the window's bulk merge), plus 20 single
                 decisions through core/review.py `decide` (median ms each: a decision is on disk before the next
                 pair appears).
groups           what the Groups tab computes: the proposed pairs (`review.list_pairs`), their groups
                 (`candidate_groups`, never joining pictures kept apart) and the merge groups with their keepers
                 (`merge_groups`). The keeper policy compares pixels where it can; without pictures on disk it
                 decides by the file facts only.
export           the merge list written through core/export.py (`write_merge_list`, CSV).

Memory: each phase's own peak RSS (the kernel's high-water mark, VmHWM, reset before the phase through
/proc/self/clear_refs), so a phase's figure is what that phase needed with what the earlier phases left; the
window's is its own process's peak. `peak_rss_mb` is the largest of them (this process and its children).
Disk: every file in the catalogue folder (database, WAL, journal, Annoy indexes and their id files) after the
catalogue is closed.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from benchmarks.speed import synthetic_file_rows, synthetic_image_rows

REPO = Path(__file__).resolve().parents[1]
DIM = 1600
SIBLING_NOISE = 0.315  # benchmarks/speed.py's: a product's pictures sit at cosine ~0.91 from each other
SIBLINGS_MEAN = 3.0  # pictures per product: 1 + Poisson(3) (speed.py: n/4 products, about 4 pictures each)
TWIN_NOISE = (0.002, 0.009)  # per-component noise of a copy: cosine 0.995 .. 0.93 to its original
SIBLING_HASH_BITS = 12 / 64  # a product's pictures differ from its hash in about 12 of 64 bits
TWIN_HASH_BITS = 2 / 64  # a copy differs from its original's in about 2
GENERATE_BATCH = 5000
WINDOW_TIMEOUT_S = 3600

KEYS = ("pictures", "load_s", "products_s", "ann_build_s", "pairs_s", "verify_bookkeeping_s", "tiers_s",
        "open_window_s", "search_open_s", "search_ms", "decide_s", "decide_ms", "groups_s", "export_s",
        "peak_rss_mb", "catalog_bytes")
# What the JSON must hold at least (issue 16).
REQUIRED_KEYS = ("pictures", "load_s", "ann_build_s", "pairs_s", "verify_bookkeeping_s", "open_window_s",
                 "search_ms", "groups_s", "export_s", "peak_rss_mb", "catalog_bytes")
# 1M targets (issue 16), for the plot and the text output.
TARGETS = {"pairs_s": 600.0, "peak_rss_mb": 4096.0, "open_window_s": 3.0, "search_ms": 50.0,
           "catalog_bytes": 3 * 2 ** 30}


# -- the synthetic catalogue ---------------------------------------------------------------------
@dataclass
class Batch:
    start: int
    vectors: np.ndarray  # (count, DIM) float32, L2-normalised
    original: np.ndarray  # int64: the picture each one is an edited copy of, -1 for none
    phash: list[str]
    dhash: list[str]


def sha_of(i: int) -> str:
    """A sha256-like name for picture i: random-looking (rows are not in picture order), i in its last 8 digits."""
    return hashlib.sha256(b"fashionsim-synthetic-%d" % i).hexdigest()[:56] + f"{i:08x}"


def index_of(sha: str) -> int:
    return int(sha[56:], 16)


def _normalised(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _hex(bits: np.ndarray) -> list[str]:
    """(m, 64) bools -> 16-digit hex strings, as core/hashing.py stores hashes."""
    return [row.tobytes().hex() for row in np.packbits(bits, axis=1)]


def synthetic_pictures(n: int, seed: int = 0, twin_share: float = 0.2,
                       batch: int = GENERATE_BATCH) -> Iterator[Batch]:
    """Pictures 0..n-1 in batches; products never span batches, so memory is one batch whatever n is."""
    rng = np.random.default_rng(seed)
    twin_chance = twin_share / (1.0 - twin_share)  # per original: twins are then twin_share of all pictures
    start = 0
    while start < n:
        want = min(batch, n - start)
        # Enough originals that, with their copies, they fill the batch (whatever the draw); the rest is cut.
        originals = int(np.ceil(want / (1.0 + twin_chance) * 1.1)) + 16
        sizes = 1 + rng.poisson(SIBLINGS_MEAN, originals)
        sizes = sizes[:int(np.searchsorted(np.cumsum(sizes), originals)) + 1]
        product_of = np.repeat(np.arange(len(sizes)), sizes)[:originals]
        products = rng.standard_normal((len(sizes), DIM), dtype=np.float32)
        base = _normalised(products[product_of] + rng.standard_normal((originals, DIM), dtype=np.float32)
                           * SIBLING_NOISE)
        product_bits = rng.random((len(sizes), 64)) < 0.5
        own_bits = product_bits[product_of] ^ (rng.random((originals, 64)) < SIBLING_HASH_BITS)
        own_dbits = product_bits[product_of][:, ::-1] ^ (rng.random((originals, 64)) < SIBLING_HASH_BITS)
        twin = rng.random(originals) < twin_chance
        # Each original is followed by its copy (when it has one).
        shift = np.concatenate([[0], np.cumsum(twin)[:-1]])
        pos_orig = np.arange(originals) + shift
        pos_twin = pos_orig[twin] + 1
        count = originals + int(twin.sum())
        vectors = np.empty((count, DIM), np.float32)
        vectors[pos_orig] = base
        noise = rng.uniform(*TWIN_NOISE, (len(pos_twin), 1)).astype(np.float32)
        vectors[pos_twin] = _normalised(base[twin] + rng.standard_normal((len(pos_twin), DIM), dtype=np.float32)
                                        * noise)
        bits = np.empty((count, 64), bool)
        dbits = np.empty((count, 64), bool)
        bits[pos_orig], dbits[pos_orig] = own_bits, own_dbits
        bits[pos_twin] = own_bits[twin] ^ (rng.random((len(pos_twin), 64)) < TWIN_HASH_BITS)
        dbits[pos_twin] = own_dbits[twin] ^ (rng.random((len(pos_twin), 64)) < TWIN_HASH_BITS)
        original = np.full(count, -1, np.int64)
        original[pos_twin] = start + pos_orig[twin]
        if count < want:  # far too few copies drawn (never seen): draw this batch again
            continue
        yield Batch(start, vectors[:want], original[:want], _hex(bits[:want]), _hex(dbits[:want]))
        start += want


def picture_rows(batch: Batch, model_id: str, rng: np.random.Generator) -> tuple[list[dict], list[dict]]:
    """(`images` rows, `files` rows) of a batch, built on benchmarks/speed.py's row makers."""
    count = len(batch.vectors)
    images = synthetic_image_rows(batch.start, batch.vectors)
    files = synthetic_file_rows(batch.start, count, "pending")
    sizes = rng.integers(40_000, 400_000, count)
    scale = rng.choice([1.0, 1.0, 1.0, 0.75, 0.5, 2.0], count)
    for k, (image, file) in enumerate(zip(images, files)):
        i = batch.start + k
        sha = sha_of(i)
        w, h = int(360 * scale[k]), int(540 * scale[k])
        image.update(sha256=sha, width=w, height=h, format="PNG" if i % 10 == 0 else "JPEG",
                     phash=batch.phash[k], dhash=batch.dhash[k], model_id=model_id)
        name = f"{i // 1000:04d}/{i:08d}.{'png' if i % 10 == 0 else 'jpg'}"
        file.update(path=name, path_raw=name.encode(), sha256=sha, size=int(sizes[k]),
                    mtime_ns=1_700_000_000_000_000_000 + i, first_seen=1.7e9, last_seen=1.7e9)
    return images, files


def verified_row(a: str, b: str, cosine: float, original: np.ndarray, rng: np.random.Generator) -> dict:
    """What the verifier would store for a candidate pair: a copy's evidence for planted copies, else a
    colourway's (colours apart, few matching details)."""
    from fashionsim_desktop.core.pairs import VERIFIER_VERSION
    from fashionsim_desktop.core.verify import Evidence

    i, j = index_of(a), index_of(b)
    copy = original[i] == j or original[j] == i or (original[i] >= 0 and original[i] == original[j])
    if copy:
        ev = Evidence(inliers=int(rng.integers(40, 400)), mirrored=bool(rng.random() < 0.1), scale=1.0,
                      ncc=0.98, agree=0.98, chroma=1.5, lightness=2.0, compared=True, cells=400, differ=0.01,
                      differ_block=0.0, frame=float(rng.uniform(0.8, 1.0)))
        score = float(rng.uniform(0.7, 0.99))
    else:
        ev = Evidence(inliers=int(rng.integers(0, 15)), scale=1.0)
        score = float(rng.uniform(0.0, 0.3))
    return {"sha_a": a, "sha_b": b, "verifier": VERIFIER_VERSION, "cosine": round(cosine, 5),
            "score": round(score, 5), "evidence": json.dumps(ev.as_dict())}


# -- measuring -----------------------------------------------------------------------------------
def _hwm_mb() -> float:
    """This process's peak RSS since the last reset (VmHWM), in MB."""
    try:
        with open("/proc/self/status") as fh:
            return int(re.search(r"VmHWM:\s+(\d+)", fh.read()).group(1)) / 1024
    except (OSError, AttributeError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # Linux >= 4.0: reset the peak RSS to the current RSS
        return True
    except OSError:
        return False


class Phases:
    """Times phases and records each one's own peak RSS."""

    def __init__(self, human: bool):
        self.human = human
        self.seconds: dict[str, float] = {}
        self.rss: dict[str, float] = {}
        self.cpu: dict[str, float] = {}  # CPU seconds (this process, all threads): wall time counts other jobs too
        self.notes: dict[str, str] = {}
        self.resettable = _reset_hwm()

    def run(self, name: str, fn, note=None, own=None):
        """`own(result)` -> (seconds, cpu, rss) replaces what was measured here (a phase measured elsewhere)."""
        _reset_hwm()
        t, cpu = time.perf_counter(), time.process_time()
        result = fn()
        self.seconds[name] = time.perf_counter() - t
        self.cpu[name] = time.process_time() - cpu
        self.rss[name] = _hwm_mb()
        if own is not None:
            seconds, cpu_s, rss = own(result)
            self.seconds[name], self.rss[name] = seconds, rss
            if cpu_s is not None:
                self.cpu[name] = cpu_s
        if note is not None:
            self.notes[name] = note(result) if callable(note) else note
        if self.human:
            self.line(name, self.seconds[name], self.cpu[name], self.rss[name], self.notes.get(name, ""))
        return result

    @staticmethod
    def line(name: str, seconds: float, cpu: float, rss: float, note: str) -> None:
        print(f"{name:<20} {seconds:9.2f} s (cpu {cpu:8.2f} s)   peak RSS {rss:7.0f} MB   {note}", flush=True)


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def open_window(catalog_dir: Path, folder: Path) -> dict:
    """The real window in a subprocess, offscreen: seconds from its start to the first pair shown."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", FASHIONSIM_NO_DIALOGS="1")
    env["FASHIONSIM_HOME"] = tempfile.mkdtemp(prefix="fashionsim-scale-home-")  # settings, logs, recent
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    started = time.time()
    try:
        proc = subprocess.run([sys.executable, "-m", "benchmarks.scale", "--window-probe", str(catalog_dir),
                               str(folder)], env=env, capture_output=True, text=True, timeout=WINDOW_TIMEOUT_S,
                              cwd=REPO)
    finally:
        shutil.rmtree(env["FASHIONSIM_HOME"], ignore_errors=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"the window probe failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-3000:]}")
    out = json.loads(lines[-1])
    out["from_start_s"] = out["first_pair_at"] - started
    return out


def _time_open_steps() -> dict[str, float]:
    """Wrap (not change) the calls opening a catalogue makes, to say where the window's time goes."""
    from fashionsim_desktop.store.catalog import Catalog
    from fashionsim_desktop.ui import session
    from fashionsim_desktop.ui.browser_tab import BrowserTab
    from fashionsim_desktop.ui.errors_tab import ErrorsTab
    from fashionsim_desktop.ui.groups_tab import GroupsTab
    from fashionsim_desktop.ui.review_tab import ReviewTab
    from fashionsim_desktop.ui.search_tab import SearchTab

    spent: dict[str, float] = {}

    def timed(owner, name: str, label: str) -> None:
        inner = getattr(owner, name)

        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - t

        setattr(owner, name, wrapper)

    timed(session.CatalogSession, "__init__", "session: open the catalogue")
    timed(session.CatalogSession, "_snapshot", "session._snapshot (all of it)")
    timed(Catalog, "present_files", "catalog.present_files (every call)")
    timed(Catalog, "decisions", "catalog.decisions (every call)")
    timed(Catalog, "near_pairs", "catalog.near_pairs")
    timed(Catalog, "pairs_of_tier", "catalog.pairs_of_tier")
    timed(Catalog, "image_facts", "catalog.image_facts")
    timed(Catalog, "products_of", "catalog.products_of (every call)")
    timed(session, "list_pairs", "review.list_pairs (duplicates + variants)")
    for tab in (ReviewTab, GroupsTab, BrowserTab, SearchTab, ErrorsTab):
        timed(tab, "set_session", f"{tab.__name__}.set_session")
    return spent


def window_probe(catalog_dir: str, folder: str) -> int:
    """Run in the subprocess: open the catalogue in the real MainWindow and report when the first pair shows."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["fashionsim-scale"])
    from fashionsim_desktop.ui.app import create_window

    spent = _time_open_steps()
    t_window = time.time()
    window = create_window([])  # no folder: opened below, with the catalogue folder given
    # The synthetic pictures are not on disk: the background index run would mark every one missing.
    window.start_indexing = lambda: None
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    t_open = time.time()
    if not window.open_folder(Path(folder), Path(catalog_dir)):
        print("open_folder failed", flush=True)
        return 1
    t_opened = time.time()
    review = window.review
    deadline = time.time() + WINDOW_TIMEOUT_S
    while (review.shown_pair is None or review.model.rowCount() == 0) and time.time() < deadline:
        app.processEvents()
        time.sleep(0.005)
    app.processEvents()  # painted
    t_first = time.time()
    shown = review.shown_pair
    print(json.dumps({"first_pair_at": t_first, "from_window_s": t_first - t_window,
                      "open_folder_s": t_opened - t_open, "rows": review.model.rowCount(),
                      "shown": bool(shown), "rss_mb": _hwm_mb(), "cpu_s": time.process_time(),
                      "open_steps_s": {k: round(v, 3) for k, v in spent.items()}}), flush=True)
    os._exit(0)  # not a clean shutdown: the figure is taken, and closing 1M rows' views only adds time


# -- the benchmark -------------------------------------------------------------------------------
def run(n: int, keep: Optional[Path] = None, seed: int = 0, twin_share: float = 0.2, merge_share: float = 0.1,
        queries: int = 50, load_chunk: int = 1000, human: bool = True) -> dict:
    from fashionsim_desktop.core import bulk, review
    from fashionsim_desktop.core.export import write_merge_list
    from fashionsim_desktop.core.indexer import VERIFY_CHUNK, IndexReport, Indexer
    from fashionsim_desktop.core.pairs import VERIFIER_VERSION, candidate_pairs, locality_order
    from fashionsim_desktop.core import ann
    from fashionsim_desktop.core.progress import Progress
    from fashionsim_desktop.core.search import Searcher
    from fashionsim_desktop.store.catalog import Catalog, raw_to_path

    work = Path(tempfile.mkdtemp(prefix="fashionsim-scale-"))
    if keep is not None:
        keep = Path(keep).absolute()
        if keep.exists() and any(keep.iterdir()):
            raise SystemExit(f"--keep {keep}: the folder is not empty")
        keep.mkdir(parents=True, exist_ok=True)
    base = keep or work
    folder = base / "pictures"  # the indexed folder: it exists, the synthetic pictures in it do not
    catalog_dir = base / "catalog"
    folder.mkdir(parents=True, exist_ok=True)
    phases = Phases(human)
    rng = np.random.default_rng(seed + 1)
    original = np.full(n, -1, np.int64)
    result: dict = {"pictures": n}
    if human:
        print(f"FashionSim scale benchmark: {n:,} synthetic pictures ({DIM}-d), {os.cpu_count()} cores, "
              f"Python {sys.version.split()[0]}; catalogue {catalog_dir}", flush=True)
    try:
        catalog = Catalog(catalog_dir, root=folder)
        indexer = Indexer(folder, catalog)
        model_id = indexer.model_id
        progress, report = Progress(), IndexReport()

        def load():
            for b in synthetic_pictures(n, seed, twin_share):
                original[b.start:b.start + len(b.vectors)] = b.original
                images, files = picture_rows(b, model_id, rng)
                with catalog.transaction():
                    catalog.upsert_files(files)
                for k in range(0, len(images), load_chunk):
                    catalog.save_features(images[k:k + load_chunk], [])
            catalog.settle_pending(model_id)
            return catalog.counts().get("ok", 0)

        ok = phases.run("load", load, lambda c: f"{c:,} pictures ok, {int((original >= 0).sum()):,} planted copies")
        phases.run("products", lambda: indexer._product_vectors(progress, report),
                   lambda _: f"{report.product_vectors:,} product vectors")
        phases.run("ann_build", lambda: indexer._build_index(progress, report),
                   lambda _: f"{os.path.getsize(catalog_dir / ann.INDEX_NAME) / 2 ** 20:.0f} MiB index")

        def pairs():  # Indexer._verify_pairs up to the verification workers
            shas, vectors = catalog.embeddings(model_id)
            index = ann.load(catalog.directory, model_id, catalog.get_meta(ann.FINGERPRINT_KEY))
            try:
                skip = catalog.verified_keys(VERIFIER_VERSION)
                candidates = candidate_pairs(index, shas, vectors, skip)
            finally:
                index.close()
            paths = catalog.one_path_per_sha()
            return [(a, raw_to_path(folder, paths[a]), b, raw_to_path(folder, paths[b]), c)
                    for a, b, c in locality_order(candidates) if a in paths and b in paths]

        items = phases.run("pairs", pairs, lambda it: f"{len(it):,} candidate pairs")
        result["candidate_pairs"] = len(items)

        def bookkeeping():
            spent, duplicates = 0.0, 0
            for k in range(0, len(items), VERIFY_CHUNK):
                rows = [verified_row(a, b, c, original, rng) for a, _, b, _, c in items[k:k + VERIFY_CHUNK]]
                duplicates += sum(1 for r in rows if r["score"] >= 0.6)
                t = time.perf_counter()
                with catalog.transaction():
                    catalog.save_verified(rows)
                spent += time.perf_counter() - t
            return spent, duplicates

        spent, duplicates = phases.run(
            "verify_bookkeeping", bookkeeping,
            lambda r: f"{r[1]:,} duplicate pairs (score >= 0.6); store calls only (rows made up untimed)",
            own=lambda r: (r[0], None, _hwm_mb()))
        result["duplicate_pairs"] = duplicates
        del items
        phases.run("tiers", lambda: indexer._pair_tiers(progress, report),
                   lambda _: f"{report.tiers_worked_out:,} pair tiers")
        catalog.close()

        window = phases.run("open_window", lambda: open_window(catalog_dir, folder),
                            lambda w: f"first of {w['rows']:,} pairs shown; {w['from_window_s']:.2f} s from window "
                                      f"creation, open_folder {w['open_folder_s']:.2f} s; window process: cpu "
                                      f"{w['cpu_s']:.2f} s, peak RSS {w['rss_mb']:.0f} MB",
                            own=lambda w: (w["from_start_s"], w["cpu_s"], w["rss_mb"]))
        result["open_window_from_creation_s"] = round(window["from_window_s"], 3)
        result["open_folder_s"] = round(window["open_folder_s"], 3)
        result["queue_rows"] = window["rows"]
        result["open_steps_s"] = window["open_steps_s"]
        if human:
            for step, seconds in window["open_steps_s"].items():
                print(f"{'':<20} {seconds:9.2f} s   in the window: {step}")

        catalog = Catalog(catalog_dir, root=folder)
        searcher = phases.run("search_open", lambda: Searcher(catalog), "Searcher: both indexes, every embedding")
        if searcher.embedder.model_id != model_id:
            raise RuntimeError("the search's model is not the one the catalogue was written with")
        sample = [sha_of(int(i)) for i in np.random.default_rng(seed + 2).choice(n, min(queries, n), replace=False)]

        def search():
            times = []
            for sha in sample:
                t = time.perf_counter()
                searcher.grouped_similar_to(sha, 10)
                times.append((time.perf_counter() - t) * 1000)
            return statistics.median(times)

        search_ms = phases.run("search", search, lambda ms: f"median {ms:.2f} ms per query over {len(sample)}")
        searcher.close()
        del searcher

        def decide():
            pairs = review.list_pairs(catalog)
            take = np.random.default_rng(seed + 3).permutation(len(pairs))
            merges = [pairs[i] for i in take[:int(len(pairs) * merge_share)]]
            keeps = [pairs[i] for i in take[int(len(pairs) * merge_share):int(len(pairs) * (merge_share + 0.01))]]
            apart = review.kept_apart(catalog.decisions())
            changed = bulk.apply(catalog, bulk.plan(keeps, review.KEEP, apart=apart))
            changed += bulk.apply(catalog, bulk.plan(merges, review.MERGE, apart=review.kept_apart(catalog.decisions())))
            singles = []
            for p in [pairs[i] for i in take[-20:]] if len(pairs) > 40 else []:
                t = time.perf_counter()
                review.decide(catalog, p.sha_a, p.sha_b, review.MERGE)
                singles.append((time.perf_counter() - t) * 1000)
            return changed + len(singles), statistics.median(singles) if singles else None

        decided, decide_ms = phases.run("decide", decide, lambda r: f"{r[0]:,} decisions; single decision median "
                                                                    f"{r[1] or 0:.1f} ms")

        def groups():
            pairs = review.list_pairs(catalog)
            proposed = review.candidate_groups(pairs, review.kept_apart(catalog.decisions()))
            merged = review.merge_groups(catalog, with_scores=False)
            return len(proposed), len(merged)

        proposed, merged = phases.run("groups", groups, lambda g: f"{g[0]:,} proposed groups, {g[1]:,} merge groups")
        target = work / "merge-list.csv"
        rows = phases.run("export", lambda: write_merge_list(catalog, target, "csv")[0],
                          lambda r: f"{r:,} merge rows, {target.stat().st_size / 2 ** 20:.1f} MiB CSV")
        catalog.close()
        catalog_bytes = folder_bytes(catalog_dir)
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        peak = max(list(phases.rss.values()) + [children])
        if not phases.resettable:  # no per-phase reset: the figures are running maxima
            peak = max(peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        result.update({
            "load_s": phases.seconds["load"], "products_s": phases.seconds["products"],
            "ann_build_s": phases.seconds["ann_build"], "pairs_s": phases.seconds["pairs"],
            "verify_bookkeeping_s": phases.seconds["verify_bookkeeping"], "tiers_s": phases.seconds["tiers"],
            "open_window_s": phases.seconds["open_window"], "search_open_s": phases.seconds["search_open"],
            "search_ms": search_ms, "decide_s": phases.seconds["decide"], "decide_ms": decide_ms,
            "groups_s": phases.seconds["groups"], "export_s": phases.seconds["export"],
            "peak_rss_mb": peak, "catalog_bytes": catalog_bytes,
            "decisions": decided, "proposed_groups": proposed, "merge_groups": merged, "merge_rows": rows,
            "rss_mb": {k: round(v, 1) for k, v in phases.rss.items()},
            "rss_per_phase": phases.resettable,
            "cpu_s": {k: round(v, 2) for k, v in phases.cpu.items()},
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "cpus": os.cpu_count(), "python": sys.version.split()[0],
        })
        for key, value in list(result.items()):
            if isinstance(value, float):
                result[key] = round(value, 4)
        if human:
            print(f"{'peak memory':<20} {peak:9.0f} MB (largest phase, this process or the window's)")
            print(f"{'catalogue on disk':<20} {catalog_bytes / 2 ** 20:9.1f} MiB "
                  f"({', '.join(f'{p.name} {p.stat().st_size / 2 ** 20:.1f}' for p in sorted(catalog_dir.iterdir()) if p.is_file())})")
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- the growth plot -----------------------------------------------------------------------------
PLOTTED = (("load_s", "load"), ("ann_build_s", "ANN build"), ("pairs_s", "candidate pairs"),
           ("verify_bookkeeping_s", "verification bookkeeping"), ("open_window_s", "window to first pair"),
           ("groups_s", "groups"), ("export_s", "export"))


def plot(files: list[str], out: str) -> int:
    results = sorted((json.loads(Path(f).read_text()) for f in files), key=lambda r: r["pictures"])
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("The plot needs matplotlib, which is not installed here: pip install -e \".[bench]\" (or pip install "
              "matplotlib) and run the same command again. The figures themselves:", file=sys.stderr)
        for r in results:
            print(json.dumps({k: r.get(k) for k in KEYS}), file=sys.stderr)
        return 1
    n = [r["pictures"] for r in results]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    for key, label in PLOTTED:
        left.plot(n, [r[key] for r in results], marker="o", label=label)
    left.axhline(TARGETS["pairs_s"], color="grey", linestyle=":", linewidth=1)
    left.text(n[0], TARGETS["pairs_s"] * 1.1, "candidate pairs target at 1M: 10 min", fontsize=8, color="grey")
    left.axhline(TARGETS["open_window_s"], color="grey", linestyle="--", linewidth=1)
    left.text(n[0], TARGETS["open_window_s"] * 1.1, "first pair target: 3 s", fontsize=8, color="grey")
    left.set(xscale="log", yscale="log", xlabel="pictures in the catalogue", ylabel="seconds",
             title="Time per phase")
    left.legend(fontsize=8)
    right.plot(n, [r["peak_rss_mb"] / 1024 for r in results], marker="o", label="peak memory (GiB)")
    right.plot(n, [r["catalog_bytes"] / 2 ** 30 for r in results], marker="s", label="catalogue on disk (GiB)")
    right.plot(n, [r["search_ms"] / 10 for r in results], marker="^", label="search (x10 ms)")
    right.axhline(4.0, color="grey", linestyle="--", linewidth=1)
    right.text(n[0], 4.1, "memory target: 4 GB", fontsize=8, color="grey")
    right.axhline(3.0, color="grey", linestyle=":", linewidth=1)
    right.text(n[0], 3.1, "disk target: 3 GB", fontsize=8, color="grey")
    right.set(xscale="log", xlabel="pictures in the catalogue", title="Memory, disk, search")
    right.legend(fontsize=8)
    fig.suptitle("FashionSim at scale (benchmarks/scale.py, synthetic catalogues)")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="FashionSim scale benchmark (issue 16)")
    parser.add_argument("--pictures", type=int, default=100_000, help="synthetic catalogue size")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--keep", type=Path, help="write the catalogue here and keep it (an empty or new folder)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--twin-share", type=float, default=0.2,
                        help="share of pictures that are edited copies of another (N/5 duplicate pairs)")
    parser.add_argument("--merge-share", type=float, default=0.1, help="share of duplicate pairs marked merge")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--load-chunk", type=int, default=1000, help="pictures per save_features transaction")
    parser.add_argument("--json-out", type=Path, help="also write the JSON result to this file (any --format)")
    parser.add_argument("--plot", nargs="+", metavar="RESULTS.json", help="draw the growth curve of these results")
    parser.add_argument("--out", default="growth.png", help="the plot's file (with --plot)")
    parser.add_argument("--window-probe", nargs=2, metavar=("CATALOG", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.window_probe:
        return window_probe(*args.window_probe)
    if args.plot:
        return plot(args.plot, args.out)
    if args.pictures < 2:
        parser.error("--pictures must be at least 2")
    result = run(args.pictures, args.keep, args.seed, args.twin_share, args.merge_share, args.queries,
                 args.load_chunk, human=args.format == "text")
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=1) + "\n")
    if args.format == "json":
        print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
