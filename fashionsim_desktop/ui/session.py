"""The open catalogue as the window sees it: one main-thread connection, file facts, and background loads.

Reads and single decisions are quick SQLite calls made on the UI thread (each decision is committed before
the call returns, so a crash right after loses nothing). Everything slow (indexing, picture loading,
search, reading and importing product data, the keeper policy, which decodes pictures, and the intake check)
runs in workers from the shared `WorkerPool`.

A file's identity is its raw relative path (bytes): two names can display alike. The connection has its own
origin, so this window's undo takes back only this window's steps, never the CLI's or another window's.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable, Optional

from PySide6.QtCore import QObject, Signal

from ..core import bulk
from ..core.pairs import DEFAULT_MIN_SCORE
from ..core.products import ImportReport, Mapping, ProductInfo, Table, import_products, read_table
from ..core.review import MERGE, Pair, kept_apart, list_pairs, merge_groups
from ..core.tiers import Tier
from ..store.catalog import Catalog, raw_to_path, window_origin
from ..store.locations import catalog_dir_for
from .images import ImageCache
from .workers import Worker, WorkerPool


class CatalogSession(QObject):
    pairsChanged = Signal()
    decisionsChanged = Signal()
    keepersChanged = Signal()  # the policy or a keeper choice changed: suggested keepers are stale
    backgroundFailed = Signal(str)  # a background question (keepers, merge groups) failed: the window says so

    def __init__(self, folder: Path, pool: WorkerPool, cache: ImageCache, catalog_dir: Optional[Path] = None,
                 min_score: float = DEFAULT_MIN_SCORE, parent=None):
        super().__init__(parent)
        self.folder = Path(folder).resolve()
        self.catalog_dir = Path(catalog_dir) if catalog_dir else catalog_dir_for(self.folder)
        self.catalog = Catalog(self.catalog_dir, root=self.folder, origin=window_origin())
        self.pool = pool
        self.cache = cache
        self.min_score = min_score
        self.files: dict[bytes, dict] = {}  # by raw relative path
        self.pairs: list[Pair] = []  # duplicates: exact and edited copies (what merge groups are made of)
        self.variant_pairs: list[Pair] = []  # the same product in another colour or shot (linked, never merged)
        self.error_rows: list[tuple[str, str]] = []
        self.products: dict[str, list[ProductInfo]] = {}  # by sha256: the catalogue system's products
        self.shared: set[str] = set()  # contents that belong to two or more product ids
        self.choices: dict[str, list[str]] = {"category": [], "colour": []}  # what the filters offer
        self.closed = False
        self._generation = 0  # bumped by every load applied: a slower, older answer is dropped

    def close(self) -> None:
        self.closed = True
        self.catalog.close()

    # -- data ------------------------------------------------------------------------------------
    def reload(self) -> None:
        """Load files, the duplicate pairs and errors now (used when opening, before any pair is shown). The
        variants follow from a worker: a catalogue has several times more of them, and the first pair shown is a
        duplicate."""
        self._apply(self._snapshot(self.catalog, variants=False))
        generation, catalog_dir, min_score = self._generation, self.catalog_dir, self.min_score

        def job(progress):
            with Catalog(catalog_dir, create=False) as catalog:
                return list_pairs(catalog, min_score, [Tier.VARIANT])

        worker = Worker(job)
        worker.signals.result.connect(lambda pairs: self._variants_loaded(pairs, generation))
        self.pool.start(worker)

    def _variants_loaded(self, pairs: list[Pair], generation: int) -> None:
        if not self.closed and generation == self._generation:  # not overtaken by a newer load
            self.variant_pairs = pairs
            self.pairsChanged.emit()

    def reload_async(self, then: Optional[Callable[[], None]] = None,
                     done: Optional[Callable[[], None]] = None) -> Worker:
        """Load in a worker with its own connection; apply on the UI thread, then call `then`. `done` is called
        when the worker ends, whether it loaded or failed."""
        catalog_dir = self.catalog_dir

        def job(progress):
            # No root: setting it would be a write, which the window's change polling would take for
            # another process's change and answer with another reload.
            with Catalog(catalog_dir, create=False) as catalog:
                return self._snapshot(catalog)

        worker = Worker(job)
        # A result queued before the window closed this session is dropped: it would start picture loads.
        worker.signals.result.connect(lambda snapshot: self.closed or (self._apply(snapshot), then and then()))
        if done is not None:  # connected before the start: a fast worker cannot finish unheard
            worker.signals.finished.connect(done)
        return self.pool.start(worker)

    def _snapshot(self, catalog: Catalog, variants: bool = True) -> tuple:
        files = {f["path_raw"]: f for f in catalog.present_files()}
        products = catalog.products_of({f["sha256"] for f in files.values()})
        infos = [i for group in products.values() for i in group]
        choices = {field: sorted({getattr(i, field) for i in infos if getattr(i, field)}, key=str.casefold)
                   for field in ("category", "colour")}  # here, off the UI thread: 100,000 products take a while
        variant_pairs = list_pairs(catalog, self.min_score, [Tier.VARIANT]) if variants else []
        return (files, list_pairs(catalog, self.min_score), variant_pairs, catalog.file_errors(), products,
                catalog.shared_photos(), choices)

    def _apply(self, snapshot: tuple) -> None:
        (self.files, self.pairs, self.variant_pairs, self.error_rows, self.products, self.shared,
         self.choices) = snapshot
        self._generation += 1
        self.pairsChanged.emit()

    def abs_path(self, raw: bytes) -> str:
        """The file on disk for a raw relative path (Pair.raw_a/raw_b, Member.path_raw, Hit.path_raw)."""
        return raw_to_path(self.folder, raw)

    def names(self, sha_a: str, sha_b: str) -> str:
        """The pair's file names as the review shows them: a.jpg ↔ b.jpg."""
        key = tuple(sorted((sha_a, sha_b)))
        pair = next((p for p in self.pairs + self.variant_pairs if p.key == key), None)
        if pair is not None:
            return f"{os.path.basename(pair.path_a)} ↔ {os.path.basename(pair.path_b)}"
        path_of = {f["sha256"]: f["path"] for f in self.files.values()}
        return " ↔ ".join(os.path.basename(path_of.get(sha, sha[:12])) for sha in (sha_a, sha_b))

    def undo_message(self, undone: list[dict]) -> str:
        if not undone and self.catalog.undone_keepers:
            n = len(self.catalog.undone_keepers)
            return (f"Undone: the keeper choice of {n} group{'s' if n != 1 else ''} "
                    "(the keeper policy suggests their keepers again)")
        if not undone:
            return "Nothing of yours to undo"
        restored = {step["restored"] for step in undone}
        now = (restored.pop() or "undecided") if len(restored) == 1 else "each back to its earlier state"
        what = undone[0]["undone"] or "a cleared decision"
        if len(undone) == 1:
            return f"Undone: {what} of {self.names(undone[0]['sha_a'], undone[0]['sha_b'])} (now {now})"
        return f"Undone: {what} of {len(undone)} pairs (now {now})"

    def errors(self) -> list[tuple[str, str]]:
        return self.error_rows

    # -- decisions -------------------------------------------------------------------------------
    def decide(self, pair: Pair, decision: Optional[str]) -> None:
        self.catalog.decide(pair.sha_a, pair.sha_b, decision)
        for p in self.pairs + self.variant_pairs:
            if p.key == pair.key:
                p.decision = decision
        self.decisionsChanged.emit()

    def decide_many(self, pairs: Iterable[Pair], decision: Optional[str]) -> None:
        pairs = list(pairs)
        self.catalog.decide_many([(p.sha_a, p.sha_b, decision) for p in pairs])
        keys = {p.key for p in pairs}
        for p in self.pairs:
            if p.key in keys:
                p.decision = decision
        self.decisionsChanged.emit()

    def kept_apart(self) -> list[tuple[str, str]]:
        """Every pair of pictures the curator kept apart, also those below the current threshold."""
        return kept_apart(self.catalog.decisions())

    def plan_merge(self, pairs: Optional[Iterable[Pair]] = None, tier: Optional[Tier] = None,
                   min_score: Optional[float] = None) -> bulk.BulkPlan:
        """What merging `pairs` (default: every proposed pair) of this tier and score would decide."""
        return bulk.plan(self.pairs if pairs is None else pairs, MERGE, tier, min_score, self.kept_apart())

    def apply_plan(self, plan: bulk.BulkPlan) -> int:
        """Apply a bulk plan as one undo step of this window; returns how many pairs changed."""
        changed = bulk.apply(self.catalog, plan)
        keys = {p.key for p in plan.pairs}
        for p in self.pairs:
            if p.key in keys:
                p.decision = plan.decision
        self.decisionsChanged.emit()
        return changed

    def undo(self) -> list[dict]:
        undone = self.catalog.undo()
        for step in undone:
            key = (step["sha_a"], step["sha_b"])
            for p in self.pairs + self.variant_pairs:
                if p.key == key:
                    p.decision = step["restored"]
        if undone:
            self.decisionsChanged.emit()
        if self.catalog.undone_keepers:  # the step was a keeper choice (one, or the policy applied to every group)
            self.keepersChanged.emit()
        return undone

    def set_keeper(self, sha256: str, path_raw: bytes) -> None:
        self.catalog.set_keeper(sha256, path_raw)  # this very file, not just any of its byte copies
        self.decisionsChanged.emit()
        self.keepersChanged.emit()

    # -- the keeper policy -------------------------------------------------------------------------
    # Suggesting a keeper decodes and compares pictures (about 45 ms a pair the first time), so every question
    # about keepers is answered in a worker, on a connection of its own; the answers reach the views by signal.
    def in_background(self, job: Callable[[Catalog, object], object], on_result: Callable[[object], None],
                      connect: Optional[Callable[[Worker], None]] = None) -> Worker:
        """Run `job(catalog, progress)` in a worker with its own connection; `on_result` on the UI thread, unless
        this session has been closed since. `connect` wires more signals before the start."""
        catalog_dir = self.catalog_dir

        def run(progress):
            with Catalog(catalog_dir, create=False) as catalog:  # no root: opening must not write
                return job(catalog, progress)

        worker = Worker(run)
        worker.signals.result.connect(lambda value: self.closed or on_result(value))
        if connect is not None:
            connect(worker)
        else:  # errors reach the curator (the worker has logged the details)
            worker.signals.failed.connect(lambda message: self.closed or self.backgroundFailed.emit(message))
        return self.pool.start(worker)

    def merged_async(self, on_done: Callable[[list], None]) -> Worker:
        """The merge groups an export would write, with their keepers and reasons (core/review.merge_groups)."""
        files = list(self.files.values())
        return self.in_background(lambda catalog, _: merge_groups(catalog, files, with_scores=False), on_done)

    def keepers_async(self, groups: dict, on_done: Callable[[dict], None]) -> Worker:
        """{key: [Member, ...]} -> {key: KeeperChoice}: the curator's keeper, else the policy's, with its reason."""
        def job(catalog, progress):
            from ..core import keeper  # OpenCV: loaded when a keeper is first asked for

            ctx = keeper.Context.of(catalog)  # the policy read once for all of them
            out = {}
            for key, members in groups.items():
                progress.check()
                out[key] = keeper.keeper_for(catalog, members, ctx=ctx)
            return out

        return self.in_background(job, on_done)

    def plan_keepers_async(self, on_done: Callable[[bulk.KeeperPlan], None]) -> Worker:
        files = list(self.files.values())
        return self.in_background(
            lambda catalog, _: bulk.plan_keepers(merge_groups(catalog, files, with_scores=False)), on_done)

    def apply_keepers(self, plan: bulk.KeeperPlan) -> int:
        """Fix every planned keeper as one undo step of this window."""
        changed = bulk.apply_keepers(self.catalog, plan)
        self.keepersChanged.emit()
        return changed

    def policy(self):
        from ..core import keeper

        return keeper.load_policy(self.catalog)

    def save_policy(self, policy) -> None:
        """Stored in the catalogue (core/keeper.py), so `fashionsim keeper-policy` and the export agree."""
        from ..core import keeper

        keeper.save_policy(self.catalog, policy)
        self.keepersChanged.emit()

    def check_shoot(self, folder: Path, workers: int, on_done: Callable[[object], None],
                    connect: Optional[Callable[[Worker], None]] = None) -> Worker:
        """The intake check (core/intake.py) of a new shoot against this catalogue; it only reads the catalogue."""
        min_score = self.min_score

        def job(catalog, progress):
            from ..core.intake import check

            return check(catalog, Path(folder), progress, min_score, workers)

        return self.in_background(job, on_done, connect)

    # -- background picture loading --------------------------------------------------------------
    def load_images(self, abs_paths: list[str], on_loaded: Optional[Callable[[dict], None]] = None,
                    max_side: int = 2400) -> Worker:
        def load(progress, paths):
            out = {}
            for path in paths:
                progress.check()
                out[path] = self.cache.get(path, max_side)
            return out

        worker = Worker(load, list(abs_paths))
        if on_loaded is not None:  # connected before the start: a fast worker cannot finish unheard
            worker.signals.result.connect(on_loaded)
        return self.pool.start(worker)

    # -- product data ----------------------------------------------------------------------------
    def read_product_file(self, path: Path, on_read: Callable[[Table], None],
                          on_failed: Callable[[str], None]) -> Worker:
        """Read a catalogue system's CSV in the background (it may hold 100,000 rows)."""
        worker = Worker(lambda progress: read_table(Path(path)))
        worker.signals.result.connect(on_read)
        worker.signals.failed.connect(on_failed)
        return self.pool.start(worker)

    def import_product_data(self, table: Table, mapping: Mapping, on_done: Callable[[ImportReport], None],
                            on_failed: Callable[[str], None]) -> Worker:
        """Attach the table's rows to the pictures they name, on a connection of the worker's own."""
        catalog_dir = self.catalog_dir

        def job(progress):
            with Catalog(catalog_dir, create=False) as catalog:
                return import_products(catalog, table, mapping)

        worker = Worker(job)
        worker.signals.result.connect(on_done)
        worker.signals.failed.connect(on_failed)
        return self.pool.start(worker)
