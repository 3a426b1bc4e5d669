"""The intake check: is each picture of a new shoot already in the catalogue, and under which paths?

    report = check(catalog, folder, progress)   # reads the catalogue, never writes to it

A picture with the same sha256 as a catalogue picture is an exact copy. Any other picture is embedded with the
catalogue's model, its nearest catalogue pictures are taken from the search index, and each is verified against
it with the verifier and score the pair phase uses (core/verify_worker.py), the catalogue picture decoded from its
file and checked against its sha256; the nearest gets a closer look when that is not enough (_verify_chunk). At or
above the threshold it is a duplicate; otherwise the picture is new.

Phases (core/progress.py): "scan" walks the shoot (bad files are reported with the reason, as when indexing);
"features" reads each file once in worker processes, hashes those bytes and decodes and embeds them; "pairs"
verifies the candidates in worker processes. The decoded pictures go from the first workers to the second through
working copies in a temporary folder (core/workcopies.py), never beside the catalogue.
"""
from __future__ import annotations

import hashlib
import tempfile
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from . import ann, verify_worker
from .embedder import Embedder
from .errors import FashionSimError
from .imaging import WORK_SIZE, DecodeError, decode, read_image_file
from .indexer import FEATURE_CHUNK, VERIFY_CHUNK
from .pairs import COMPARE_FROM_INLIERS, DEFAULT_MIN_SCORE, MIRROR_MIN_COSINE, locality_order, score
from .pool import default_workers, run_chunks
from .progress import Progress
from .products import SEPARATOR
from .scan import Problem, check_folder, walk
from .search import Searcher
from .tiers import Tier
from .verify import Prepared, verify
from .workcopies import WorkingCopies
from ..store.catalog import Catalog, raw_to_path

NEW, EXACT, DUPLICATE, ERROR = "new", Tier.EXACT.value, Tier.DUPLICATE.value, "error"
# Catalogue pictures verified per shoot picture: the CANDIDATES nearest with a cosine of at least MIN_COSINE. The
# pair phase verifies fewer (3 nearest; from 0.76 for the nearest, 0.84 beyond) to keep a whole catalogue's pairs
# few; a shoot is small. On three seeds of the benchmark (1,620 edited copies) this found 6 more copies, whose
# original was 2nd to 5th nearest or at a cosine of 0.75-0.83 behind look-alikes (tinted backgrounds, heavy crops,
# padding), for 55% more pairs; the 8 nearest, or a floor of 0.6, found no more.
CANDIDATES = 5
MIN_COSINE = 0.7
# The search index is asked for SEARCH_DEPTH results (4 times as many from Annoy), which makes Annoy search deep
# enough. Asked for 5, it missed the true nearest catalogue picture (up to a cosine of 0.92) of 4 and 6 of the
# 1,041 shoot pictures on two seeds of the benchmark; asked for 25, of none, at about 1 ms a query.
SEARCH_DEPTH = 25
CLOSER_SIZE = 3 * WORK_SIZE  # the closer look's long side (_verify_chunk)
CLOSER_CACHE = 32  # prepared pictures at CLOSER_SIZE kept per worker (about 1.5 MB each)


@dataclass
class Match:
    path: str  # relative to the catalogue's folder, as `fashionsim pairs` shows it
    sha256: str
    score: float  # 1.0 for an exact copy
    tier: Tier
    path_raw: bytes = b""  # the file's identity (`path` is display text)
    product_ids: list[str] = field(default_factory=list)
    skus: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "score": round(self.score, 4), "tier": self.tier.value,
                "product_ids": self.product_ids, "skus": self.skus}


@dataclass
class Item:
    """One picture of the shoot: `status` is new, exact, duplicate, or error (unreadable: `error` says why)."""
    path: str  # relative to the shoot folder
    path_raw: bytes
    status: str = NEW
    sha256: Optional[str] = None
    matches: list[Match] = field(default_factory=list)  # best first
    error: Optional[str] = None

    def as_dict(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "status": self.status,
                "matches": [m.as_dict() for m in self.matches], "error": self.error}


@dataclass
class IntakeReport:
    folder: Path
    items: list[Item] = field(default_factory=list)
    min_score: float = DEFAULT_MIN_SCORE
    workers: int = 0
    seconds: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for i in self.items if i.status == s) for s in (NEW, EXACT, DUPLICATE, ERROR)}

    @property
    def matched(self) -> bool:
        return any(i.status in (EXACT, DUPLICATE) for i in self.items)


def check(catalog: Catalog, folder: Path, progress: Optional[Progress] = None,
          min_score: float = DEFAULT_MIN_SCORE, workers: Optional[int] = None) -> IntakeReport:
    """Check every picture under `folder` against the catalogue. Raises FolderError for a missing folder and
    Cancelled when `progress` is cancelled; a file that cannot be read is an item with status "error"."""
    progress = progress or Progress()
    folder = check_folder(folder)  # a missing folder is said before the model is loaded
    report = IntakeReport(folder, min_score=min_score, workers=workers or default_workers())
    embedder = Embedder(threads=1)  # the model whose vectors the catalogue holds; the workers load their own
    searcher = _ReadOnlySearcher(catalog, embedder)
    try:
        if searcher.rebuilt:
            report.warnings.append("The catalogue's search index is damaged; this check used a copy rebuilt in "
                                   "memory. `fashionsim index` repairs it.")
        paths_of: dict[str, list[tuple[str, bytes]]] = {}
        for f in catalog.present_files():
            paths_of.setdefault(f["sha256"], []).append((f["path"], f["path_raw"]))
        root = catalog.get_meta("root")
        if paths_of and (not searcher.ready or not root):
            raise FashionSimError("This catalogue has no search index for the current model yet. Run: fashionsim "
                                  "index FOLDER, then check again.")
        start = time.perf_counter()
        report.items = _scan(folder, progress)
        report.seconds["scan"] = round(time.perf_counter() - start, 3)
        with tempfile.TemporaryDirectory(prefix="fashionsim-intake-") as scratch:
            start = time.perf_counter()
            vectors = _features(report.items, folder, set(paths_of), embedder, Path(scratch), report.workers,
                                progress)
            report.seconds["features"] = round(time.perf_counter() - start, 3)
            start = time.perf_counter()
            scores, unverified = _verify(report.items, vectors, searcher, Path(root or "."), folder, Path(scratch),
                                         min_score, report.workers, progress)
            report.seconds["pairs"] = round(time.perf_counter() - start, 3)
        if unverified:
            report.warnings.append(f"{unverified} candidate pairs could not be compared: a file changed or "
                                   "disappeared since it was read (`fashionsim index` updates the catalogue).")
    finally:
        searcher.close()
    _judge(report.items, paths_of, scores, min_score)
    _add_products(catalog, report.items)
    return report


def _scan(folder: Path, progress: Progress) -> list[Item]:
    """Every picture file of the shoot; a file that cannot be used (core/scan.py says why) is an error item."""
    progress.update("scan", 0, 0)
    items = [Item(f.path, f.path_raw, ERROR, error=f.reason) if isinstance(f, Problem) else Item(f.path, f.path_raw)
             for f in walk(folder, on_count=lambda n: progress.update("scan", n, 0))]
    progress.update("scan", len(items), len(items))
    return items


class _ReadOnlySearcher(Searcher):
    """The check leaves the catalogue as it was: a damaged search index is rebuilt in memory only."""

    def _rebuild(self, model_id: str) -> Optional[ann.AnnIndex]:
        return ann.in_memory(self.shas, self.vectors)


# -- phase 1: read once, hash, decode, embed (worker processes) ---------------------------------------------
_embedder: Optional[Embedder] = None
_copies: Optional[WorkingCopies] = None
_closer_copies: Optional[WorkingCopies] = None
_known: frozenset = frozenset()
_min_score = DEFAULT_MIN_SCORE
_closer_cache: "OrderedDict[str, Optional[Prepared]]" = OrderedDict()


def _init_reader(model_path: str, scratch: str, known: frozenset) -> None:
    global _embedder, _copies, _closer_copies, _known
    _embedder = Embedder(Path(model_path), threads=1)
    _copies, _closer_copies = _scratch_copies(Path(scratch))
    _known = known


def _scratch_copies(scratch: Path) -> tuple[WorkingCopies, WorkingCopies]:
    """Working copies at the working size (what the pair phase verifies) and at the closer look's size."""
    return WorkingCopies(scratch / "work"), WorkingCopies(scratch / "closer")


def _read_chunk(chunk: list[tuple[int, str, bool]]) -> list[tuple[int, Optional[str], Optional[bytes], Optional[str]]]:
    """(position, absolute path, keep working copies) -> (position, sha256, embedding bytes, error reason).

    The bytes that are hashed are the bytes decoded. An exact copy of a catalogue picture is not decoded."""
    assert _embedder is not None, "_init_reader was not called"
    out, pictures = [], []
    for position, path, keep in chunk:
        try:
            data = read_image_file(path)
        except DecodeError as exc:  # no longer a regular file, or over the size cap
            out.append((position, None, None, str(exc)))
            continue
        except FileNotFoundError:
            out.append((position, None, None, "the file disappeared while it was being checked"))
            continue
        except OSError as exc:
            out.append((position, None, None, f"cannot be read: {exc.strerror or exc}"))
            continue
        sha = hashlib.sha256(data).hexdigest()
        if sha in _known:
            out.append((position, sha, None, None))
            continue
        try:
            image = decode(data).image
            if keep:  # for the verification workers; without them they read the file again
                _copies.put(sha, np.asarray(image))
                _closer_copies.put(sha, np.asarray(decode(data, CLOSER_SIZE).image))
        except DecodeError as exc:
            out.append((position, sha, None, str(exc)))
            continue
        out.append((position, sha, None, None))
        pictures.append((len(out) - 1, image))
    vectors = _embedder.embed([image for _, image in pictures])
    for (row, _), vector in zip(pictures, vectors):
        out[row] = (*out[row][:2], vector.astype(np.float32).tobytes(), None)
    return out


def _features(items: list[Item], folder: Path, known: set[str], embedder: Embedder, scratch: Path, workers: int,
              progress: Progress) -> dict[int, np.ndarray]:
    """Fill in each readable item's sha256 (or its error); returns the embeddings of the pictures to search for."""
    todo = [i for i, item in enumerate(items) if item.status != ERROR]
    # Both copies within the working copies' budget: the closer one takes up to nine times the room.
    keep = _scratch_copies(scratch)[0].capacity() // 10
    work = [(i, raw_to_path(folder, items[i].path_raw), n < keep) for n, i in enumerate(todo)]
    chunks = [work[i:i + FEATURE_CHUNK] for i in range(0, len(work), FEATURE_CHUNK)]
    progress.update("features", 0, len(work))
    vectors, done = {}, 0
    for rows in run_chunks(_read_chunk, chunks, workers, lambda: progress.token.cancelled,
                           initializer=_init_reader, initargs=(str(embedder.path), str(scratch), frozenset(known))):
        for position, sha, vector, error in rows:
            item = items[position]
            item.sha256 = sha
            if error:
                item.status, item.error = ERROR, error
            elif vector is not None:
                vectors[position] = np.frombuffer(vector, dtype=np.float32)
        done += len(rows)
        progress.update("features", done, len(work))
    return vectors


# -- phase 2: verify the nearest catalogue pictures (worker processes) --------------------------------------
def _init_verifier(scratch: str, min_score: float) -> None:
    global _closer_copies, _min_score
    work, _closer_copies = _scratch_copies(Path(scratch))
    verify_worker.init_worker(str(work.directory))
    _min_score = min_score
    _closer_cache.clear()


def _closer(sha: str, path: str) -> Optional[Prepared]:
    """A picture prepared at CLOSER_SIZE: its kept copy, else decoded from its file if the bytes still have its
    sha256 (never verify another picture in its place); None when it cannot be had."""
    if sha not in _closer_cache:
        rgb = _closer_copies.get(sha) if _closer_copies is not None else None
        if rgb is None:
            try:
                data = read_image_file(path)
                if hashlib.sha256(data).hexdigest() == sha:
                    rgb = np.asarray(decode(data, CLOSER_SIZE).image)
            except (DecodeError, OSError):
                pass
        _closer_cache[sha] = Prepared(rgb) if rgb is not None else None
        if len(_closer_cache) > CLOSER_CACHE:
            _closer_cache.popitem(last=False)
    _closer_cache.move_to_end(sha)
    return _closer_cache[sha]


def _verify_chunk(chunk: list[tuple[tuple[str, str, str, str, float], bool]]) -> dict[tuple[str, str], float]:
    """((catalogue sha256, its path, shoot sha256, its path, cosine), nearest?) -> {(catalogue sha, shoot sha):
    score}.

    First the pair phase's own verification at the working size. When that leaves a shoot picture's nearest
    catalogue picture below the threshold, the pair gets a closer look at CLOSER_SIZE and the better score counts:
    at the working size a heavy crop, a rotation or a small garment leaves ORB too few details. On three seeds of
    the benchmark the closer look found 57 of the 75 edited copies the working size missed, and no colourway or
    other garment scored above 0.53 (the most the working size gave one). Looking closer at the two nearest found
    no more; looking at twice the working size instead of three times found 7 fewer (the benchmark's packshots are
    360 x 540, so three times is their full size)."""
    scores = {(r["sha_a"], r["sha_b"]): r["score"] for r in verify_worker.verify_chunk([item for item, _ in chunk])}
    for (sha_a, path_a, sha_b, path_b, cosine), nearest in chunk:
        if not nearest or scores.get((sha_a, sha_b), 0.0) >= _min_score:
            continue
        a, b = _closer(sha_a, path_a), _closer(sha_b, path_b)
        if a is not None and b is not None:
            ev = verify(a, b, try_mirror=cosine >= MIRROR_MIN_COSINE, compare_from=COMPARE_FROM_INLIERS)
            scores[(sha_a, sha_b)] = max(scores.get((sha_a, sha_b), 0.0), score(ev))
    return scores


def _candidates(hits) -> list:
    """The nearest catalogue pictures worth verifying: up to CANDIDATES, from MIN_COSINE."""
    return [h for h in hits[:CANDIDATES] if h.similarity >= MIN_COSINE]


def _verify(items: list[Item], vectors: dict[int, np.ndarray], searcher: Searcher, root: Path, folder: Path,
            scratch: Path, min_score: float, workers: int,
            progress: Progress) -> tuple[dict[tuple[str, str], float], int]:
    """({(catalogue sha256, shoot sha256): duplicate score}, how many candidate pairs could not be verified)."""
    progress.update("pairs", 0, 0)
    candidates: dict[tuple[str, str], float] = {}
    nearest: set[tuple[str, str]] = set()
    shoot_path: dict[str, str] = {}
    for n, (position, vector) in enumerate(vectors.items()):
        item = items[position]
        for rank, hit in enumerate(_candidates(searcher.query_vector(vector, SEARCH_DEPTH))):
            candidates[(hit.sha256, item.sha256)] = hit.similarity
            shoot_path[item.sha256] = raw_to_path(folder, item.path_raw)
            if rank == 0:
                nearest.add((hit.sha256, item.sha256))
        if n % 200 == 0:
            progress.update("pairs", 0, 0)  # cancellable while searching
    # Pairs sharing a catalogue picture come together, so each worker prepares it once (pool.run_chunks pinned).
    work = [((a, raw_to_path(root, searcher.raw_of[a]), b, shoot_path[b], c), (a, b) in nearest)
            for a, b, c in locality_order([(a, b, c) for (a, b), c in candidates.items()]) if a in searcher.raw_of]
    chunks = [work[i:i + VERIFY_CHUNK] for i in range(0, len(work), VERIFY_CHUNK)]
    progress.update("pairs", 0, len(work))
    scores, done = {}, 0
    for chunk_scores in run_chunks(_verify_chunk, chunks, workers, lambda: progress.token.cancelled,
                                   initializer=_init_verifier, initargs=(str(scratch), min_score), pinned=True):
        scores.update(chunk_scores)
        done = min(len(work), done + VERIFY_CHUNK)
        progress.update("pairs", done, len(work))
    progress.update("pairs", len(work), len(work))
    return scores, len(candidates) - len(scores)


def _judge(items: list[Item], paths_of: dict[str, list[tuple[str, bytes]]], scores: dict[tuple[str, str], float],
           min_score: float) -> None:
    """Status and matches of every readable item; a match names every catalogue file of the matched picture."""
    above: dict[str, list[tuple[float, str]]] = {}
    for (catalogue_sha, shoot_sha), s in scores.items():
        if s >= min_score:
            above.setdefault(shoot_sha, []).append((s, catalogue_sha))
    for item in items:
        if item.status == ERROR:
            continue
        if item.sha256 in paths_of:
            item.status = EXACT
            item.matches = [Match(p, item.sha256, 1.0, Tier.EXACT, raw) for p, raw in paths_of[item.sha256]]
        elif item.sha256 in above:
            item.status = DUPLICATE
            item.matches = [Match(p, sha, s, Tier.DUPLICATE, raw)
                            for s, sha in sorted(above[item.sha256], key=lambda t: (-t[0], t[1]))
                            for p, raw in paths_of.get(sha, [])]


def _add_products(catalog: Catalog, items: list[Item]) -> None:
    """Each match's product ids and SKUs, from the product data imported into the catalogue (core/products.py)."""
    infos = catalog.products_of({m.sha256 for item in items for m in item.matches})
    for match in (m for item in items for m in item.matches):
        products = infos.get(match.sha256, [])
        match.product_ids = list(dict.fromkeys(p.product_id for p in products if p.product_id))
        # One product photo can stand for several SKUs (sizes), stored joined with "|".
        match.skus = list(dict.fromkeys(s for p in products for s in (p.sku or "").split(SEPARATOR) if s))
