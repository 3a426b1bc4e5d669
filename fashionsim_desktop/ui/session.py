"""The open catalogue as the window sees it: one main-thread connection, file facts, and background loads.

Reads and single decisions are quick SQLite calls made on the UI thread (each decision is committed before
the call returns, so a crash right after loses nothing). Everything slow (indexing, picture loading,
search) runs in workers from the shared `WorkerPool`.

A file's identity is its raw relative path (bytes): two names can display alike. The connection has its own
origin, so this window's undo takes back only this window's steps, never the CLI's or another window's.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable, Optional

from PySide6.QtCore import QObject, Signal

from ..core.pairs import DEFAULT_MIN_SCORE
from ..core.review import Pair, list_pairs
from ..store.catalog import Catalog, raw_to_path, window_origin
from ..store.locations import catalog_dir_for
from .images import ImageCache
from .workers import Worker, WorkerPool


class CatalogSession(QObject):
    pairsChanged = Signal()
    decisionsChanged = Signal()

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
        self.pairs: list[Pair] = []
        self.error_rows: list[tuple[str, str]] = []
        self.closed = False

    def close(self) -> None:
        self.closed = True
        self.catalog.close()

    # -- data ------------------------------------------------------------------------------------
    def reload(self) -> None:
        """Load files, pairs and errors now (used when opening, before any pair is shown)."""
        self._apply(self._snapshot(self.catalog))

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

    def _snapshot(self, catalog: Catalog) -> tuple:
        return ({f["path_raw"]: f for f in catalog.present_files()}, list_pairs(catalog, self.min_score),
                catalog.file_errors())

    def _apply(self, snapshot: tuple) -> None:
        self.files, self.pairs, self.error_rows = snapshot
        self.pairsChanged.emit()

    def abs_path(self, raw: bytes) -> str:
        """The file on disk for a raw relative path (Pair.raw_a/raw_b, Member.path_raw, Hit.path_raw)."""
        return raw_to_path(self.folder, raw)

    def names(self, sha_a: str, sha_b: str) -> str:
        """The pair's file names as the review shows them: a.jpg ↔ b.jpg."""
        key = tuple(sorted((sha_a, sha_b)))
        pair = next((p for p in self.pairs if p.key == key), None)
        if pair is not None:
            return f"{os.path.basename(pair.path_a)} ↔ {os.path.basename(pair.path_b)}"
        path_of = {f["sha256"]: f["path"] for f in self.files.values()}
        return " ↔ ".join(os.path.basename(path_of.get(sha, sha[:12])) for sha in (sha_a, sha_b))

    def undo_message(self, undone: list[dict]) -> str:
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
        for p in self.pairs:
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

    def undo(self) -> list[dict]:
        undone = self.catalog.undo()
        for step in undone:
            key = (step["sha_a"], step["sha_b"])
            for p in self.pairs:
                if p.key == key:
                    p.decision = step["restored"]
        if undone:
            self.decisionsChanged.emit()
        return undone

    def set_keeper(self, sha256: str, path_raw: bytes) -> None:
        self.catalog.set_keeper(sha256, path_raw)  # this very file, not just any of its byte copies
        self.decisionsChanged.emit()

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
