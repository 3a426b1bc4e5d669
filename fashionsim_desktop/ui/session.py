"""The open catalogue as the window sees it: one main-thread connection, file facts, and background loads.

Reads and single decisions are quick SQLite calls made on the UI thread (each decision is committed before
the call returns, so a crash right after loses nothing). Everything slow (indexing, picture loading,
search) runs in workers from the shared `WorkerPool`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable, Optional

from PySide6.QtCore import QObject, Signal

from ..core.pairs import DEFAULT_MIN_SCORE
from ..core.review import Pair, list_pairs
from ..store.catalog import Catalog, raw_to_path
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
        self.catalog = Catalog(self.catalog_dir, root=self.folder)
        self.pool = pool
        self.cache = cache
        self.min_score = min_score
        self.files: dict[str, dict] = {}
        self.pairs: list[Pair] = []
        self.error_rows: list[tuple[str, str]] = []

    def close(self) -> None:
        self.catalog.close()

    # -- data ------------------------------------------------------------------------------------
    def reload(self) -> None:
        """Load files, pairs and errors now (used when opening, before any pair is shown)."""
        self._apply(self._snapshot(self.catalog))

    def reload_async(self, then: Optional[Callable[[], None]] = None) -> Worker:
        """Load in a worker with its own connection; apply on the UI thread, then call `then`."""
        catalog_dir, folder = self.catalog_dir, self.folder

        def job(progress):
            with Catalog(catalog_dir, root=folder) as catalog:
                return self._snapshot(catalog)

        worker = Worker(job)
        worker.signals.result.connect(lambda snapshot: (self._apply(snapshot), then and then()))
        return self.pool.start(worker)

    def _snapshot(self, catalog: Catalog) -> tuple:
        return ({f["path"]: f for f in catalog.present_files()}, list_pairs(catalog, self.min_score),
                catalog.file_errors())

    def _apply(self, snapshot: tuple) -> None:
        self.files, self.pairs, self.error_rows = snapshot
        self.pairsChanged.emit()

    def abs_path(self, rel: str) -> str:
        f = self.files.get(rel)
        if f is not None:
            return raw_to_path(self.folder, f["path_raw"])
        return os.path.join(str(self.folder), rel)

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

    def set_keeper(self, sha256: str) -> None:
        self.catalog.set_keeper(sha256)
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
