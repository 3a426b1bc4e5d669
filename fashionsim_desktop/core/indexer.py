"""The indexing pipeline: scan -> checksum -> features -> product vectors -> ANN index -> verified pairs -> tiers.

Incremental and resumable: unchanged files (same size and mtime) are not read again, a picture already
known by its sha256 (a rename, a move, a byte copy) is not decoded again, finished pairs are not verified
again. Every phase reports progress and can be cancelled; whatever finished before a cancel is kept.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from . import ann, features, product_similarity, verify_worker
from .embedder import model_id as compute_model_id, runnable_model
from .pairs import VERIFIER_VERSION, candidate_pairs, candidates_basis, locality_order
from .pool import default_workers, run_chunks
from .product_vectors import ProductEncoder
from .progress import Progress
from .scan import Found, Problem, check_folder, sha256_file, walk
from .workcopies import WorkingCopies
from .errors import CatalogError
from ..store.catalog import Catalog, raw_to_path, storage_error

FEATURE_CHUNK = 16
VERIFY_CHUNK = 48
WRITE_BATCH = 256
PAIRS_DONE_KEY = "pairs_done_for"  # meta: the candidates_basis() whose every candidate pair is verified


@dataclass
class IndexReport:
    files_seen: int = 0
    files_new_or_changed: int = 0
    files_missing: int = 0
    files_changed_while_read: int = 0  # read again on the next run
    pictures_decoded: int = 0
    errors: int = 0
    pairs_verified: int = 0
    product_vectors: int = 0
    tiers_worked_out: int = 0
    seconds: dict = field(default_factory=dict)


class Indexer:
    def __init__(self, folder: Path, catalog: Catalog, model_path: Optional[Path] = None,
                 workers: Optional[int] = None, engine: str = "local", ray_address: Optional[str] = None):
        self.folder = check_folder(folder)
        self.catalog = catalog
        # Resolved here, once, so the catalogue records the model the workers will really run.
        self.model_path = runnable_model(model_path)
        self.model_id = compute_model_id(self.model_path)
        self.workers = workers or default_workers()
        # "local": worker processes here; "ray": the features phase on a Ray cluster (core/ray_engine.py), with
        # `workers` actors or, when not given, one per CPU of the cluster.
        if engine not in ("local", "ray"):
            raise ValueError(f"engine must be 'local' or 'ray', not {engine!r}")
        self.engine = engine
        self.ray_address = ray_address
        self.ray_workers = workers
        # Decoded pictures handed from the feature phase to the pair phase of this run only.
        self.working_copies = WorkingCopies.beside(catalog.directory)

    def run(self, progress: Optional[Progress] = None) -> IndexReport:
        progress = progress or Progress()
        report = IndexReport()
        if not self.working_copies.claim():
            raise CatalogError(f"The catalogue {self.catalog.directory} is being indexed by another FashionSim "
                               "window or command. Wait for it to finish, then try again.")
        try:
            for name, phase in (("scan", self._scan), ("checksum", self._checksum), ("features", self._features),
                                ("products", self._product_vectors), ("index", self._build_index),
                                ("pairs", self._verify_pairs), ("tiers", self._pair_tiers)):
                start = time.perf_counter()
                try:
                    phase(progress, report)
                except OSError as exc:  # writing the index beside the catalogue: full or read-only disk
                    raise storage_error(exc, self.catalog.directory) from exc
                report.seconds[name] = round(time.perf_counter() - start, 3)
        finally:
            self.working_copies.clear()  # scratch for this run only, also after a cancel or an error
            self.working_copies.release()
        report.errors = len(self.catalog.file_errors())
        self.catalog.set_meta("model_id", self.model_id)
        self.catalog.set_meta("last_indexed", str(time.time()))
        self.catalog.match_waiting_products()  # product rows imported before their pictures were indexed
        return report

    # -- phases ----------------------------------------------------------------------------------
    def _scan(self, progress: Progress, report: IndexReport) -> None:
        progress.update("scan", 0, 0)
        known = self.catalog.files_by_raw_path()
        seen: set[bytes] = set()
        now = time.time()
        changed, problems = [], []
        for item in walk(self.folder, on_count=lambda n: progress.update("scan", n, 0)):
            seen.add(item.path_raw)
            old = known.get(item.path_raw)
            if isinstance(item, Problem):
                problems.append({"path": item.path, "path_raw": item.path_raw, "sha256": None, "size": 0,
                                 "mtime_ns": 0, "status": "error", "error": item.reason,
                                 "first_seen": old.first_seen if old else now, "last_seen": now})
                continue
            report.files_seen += 1
            first_seen = old.first_seen if old else now
            if old and old.size == item.size and old.mtime_ns == item.mtime_ns and old.sha256:
                if old.status == "missing":  # back where it was: known content, nothing to read
                    changed.append(self._file_row(item, old.sha256, "pending", first_seen, now))
                continue
            changed.append(self._file_row(item, None, "new", first_seen, now))
        missing = [p for p, row in known.items() if p not in seen and row.status != "missing"]
        with self.catalog.transaction():
            self.catalog.upsert_files(changed + problems)
        self.catalog.mark_missing(missing)
        report.files_missing = len(missing)
        report.files_new_or_changed = sum(1 for r in changed if r["status"] == "new")
        progress.update("scan", report.files_seen, report.files_seen)

    @staticmethod
    def _file_row(item: Found, sha: Optional[str], status: str, first_seen: float, now: float) -> dict:
        return {"path": item.path, "path_raw": item.path_raw, "sha256": sha, "size": item.size,
                "mtime_ns": item.mtime_ns, "status": status, "error": None, "first_seen": first_seen,
                "last_seen": now}

    def _checksum(self, progress: Progress, report: IndexReport) -> None:
        todo = [row for row in self.catalog.files_by_raw_path().values() if row.status == "new"]
        total = len(todo)
        progress.update("checksum", 0, total)

        def one(row):
            try:
                return row, sha256_file(raw_to_path(self.folder, row.path_raw)), None
            except FileNotFoundError:
                return row, None, "the file disappeared while it was being indexed"
            except OSError as exc:
                return row, None, f"cannot be read: {exc.strerror or exc}"

        done, batch = 0, []
        with ThreadPoolExecutor(max_workers=4) as pool:
            for start in range(0, total, WRITE_BATCH):
                for row, sha, error in pool.map(one, todo[start:start + WRITE_BATCH]):
                    batch.append({"path_raw": row.path_raw, "sha256": sha, "status": "pending" if sha else "error",
                                  "error": error})
                done += len(batch)
                self.catalog.update_file_states(batch)
                batch = []
                progress.update("checksum", done, total)
        # A changed model means every picture is embedded again, never mixed with old vectors.
        self.catalog.mark_stale_models(self.model_id)
        self.catalog.settle_pending(self.model_id)

    def _features(self, progress: Progress, report: IndexReport) -> None:
        self.working_copies.clear()  # a copy from an earlier run may come from another decoder version
        needing = self.catalog.paths_needing_features(self.model_id)
        # Ray workers may run on other machines, which cannot leave working copies here.
        keep = self.working_copies.capacity() if needing and self.engine == "local" else 0
        todo = [(sha, raw_to_path(self.folder, raw), i < keep) for i, (sha, raw) in enumerate(needing)]
        raw_of = {path: raw for (_, raw), (_, path, _) in zip(needing, todo)}
        total = len(todo)
        progress.update("features", 0, total)
        if self.engine == "ray":
            from . import ray_engine  # an optional extra: imported only when chosen

            results = ray_engine.feature_results(todo, self.folder, self.model_path, self.model_id,
                                                 self.ray_address, self.ray_workers, lambda: progress.token.cancelled)
        else:
            chunks = [todo[i:i + FEATURE_CHUNK] for i in range(0, total, FEATURE_CHUNK)]
            results = run_chunks(features.compute_chunk, chunks, self.workers, lambda: progress.token.cancelled,
                                 initializer=features.init_worker,
                                 initargs=(str(self.model_path), str(self.working_copies.directory)))
        done = 0
        try:
            for rows, errors, changed in results:
                self.catalog.save_features(rows, errors, [raw_of[path] for path in changed])
                done += len(rows) + len(errors) + len(changed)
                report.pictures_decoded += len(rows)
                report.files_changed_while_read += len(changed)
                progress.update("features", done, total)
        finally:
            results.close()  # on a cancel or an error too: stops the workers now, not when garbage collected
        self.catalog.settle_pending(self.model_id)

    def _product_vectors(self, progress: Progress, report: IndexReport) -> None:
        """From the stored embeddings (no decoding): also what a catalogue made before product vectors gains."""
        progress.update("products", 0, 0)
        self._encoder = ProductEncoder()
        report.product_vectors = product_similarity.update_product_vectors(
            self.catalog, self.model_id, self._encoder, lambda d, t: progress.update("products", d, t))

    def _pair_tiers(self, progress: Progress, report: IndexReport) -> None:
        progress.update("tiers", 0, 0)
        head_id = self._encoder.head_id
        product_similarity.build_product_index(self.catalog, head_id)
        report.tiers_worked_out = product_similarity.update_pair_tiers(
            self.catalog, head_id, lambda d, t: progress.update("tiers", d, t))

    def _build_index(self, progress: Progress, report: IndexReport) -> None:
        progress.update("index", 0, 1)
        shas = self.catalog.embedded_shas(self.model_id)
        if not shas or ann.holds_exactly(self.catalog.directory, self.model_id,
                                         self.catalog.get_meta(ann.FINGERPRINT_KEY), shas):
            progress.update("index", 1, 1)  # nothing to index, or the saved index already holds these pictures
            return
        shas, vectors = self.catalog.embeddings(self.model_id)
        fingerprint = ann.build(self.catalog.directory, shas, vectors, self.model_id,
                                on_progress=lambda d, t: progress.update("index", d, t))
        self.catalog.set_meta(ann.FINGERPRINT_KEY, fingerprint)  # what search checks the files against

    def _verify_pairs(self, progress: Progress, report: IndexReport) -> None:
        progress.update("pairs", 0, 0)
        # Every candidate of this index was verified by a finished run: the search would find none new.
        done_for = candidates_basis(self.catalog.get_meta(ann.FINGERPRINT_KEY))
        if self.catalog.get_meta(PAIRS_DONE_KEY) == done_for:
            progress.update("pairs", 1, 1)
            return
        shas, vectors = self.catalog.embeddings(self.model_id)
        index = ann.load(self.catalog.directory, self.model_id, self.catalog.get_meta(ann.FINGERPRINT_KEY))
        if index is None or len(shas) < 2:
            progress.update("pairs", 1, 1)
            return
        try:
            skip = self.catalog.verified_keys(VERIFIER_VERSION)
            candidates = candidate_pairs(index, shas, vectors, skip,
                                         on_progress=lambda d, t: progress.update("pairs", 0, t))
        finally:
            index.close()
        paths = self.catalog.one_path_per_sha()
        items = [(a, raw_to_path(self.folder, paths[a]), b, raw_to_path(self.folder, paths[b]), c)
                 for a, b, c in locality_order(candidates) if a in paths and b in paths]
        total = len(items)
        progress.update("pairs", 0, total)
        chunks = [items[i:i + VERIFY_CHUNK] for i in range(0, total, VERIFY_CHUNK)]
        done = 0
        for rows in run_chunks(verify_worker.verify_chunk, chunks, self.workers, lambda: progress.token.cancelled,
                               initializer=verify_worker.init_worker,
                               initargs=(str(self.working_copies.directory),), pinned=True):
            with self.catalog.transaction():
                self.catalog.save_verified(rows)
            done += VERIFY_CHUNK
            report.pairs_verified += len(rows)
            progress.update("pairs", min(done, total), total)
        self.catalog.set_meta(PAIRS_DONE_KEY, done_for)  # not reached on a cancel or an error: redone next run
        progress.update("pairs", total, total)
