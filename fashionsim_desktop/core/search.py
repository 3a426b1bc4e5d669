"""Query by example: the catalogue pictures most similar to images that need not be in the catalogue."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from . import ann
from .embedder import Embedder
from .errors import CatalogError
from .imaging import decode, read_image_file
from ..store.catalog import Catalog

CANDIDATES_PER_RESULT = 4  # look at 4x as many ANN candidates, then rank them by full-vector cosine
REBUILT_MESSAGE = "The search index was damaged and has been rebuilt."


@dataclass
class Hit:
    path: str
    sha256: str
    similarity: float
    path_raw: bytes = b""  # the file's identity (`path` is display text; two names can look alike)


class Searcher:
    """Holds the model session and the memory-mapped index: load once, query many times."""

    def __init__(self, catalog: Catalog, embedder: Optional[Embedder] = None):
        self.catalog = catalog
        self.embedder = embedder or Embedder(threads=2)
        model_id = self.embedder.model_id
        fingerprint = catalog.get_meta(ann.FINGERPRINT_KEY)
        self.index = ann.load(catalog.directory, model_id, fingerprint)
        self.shas, self.vectors = catalog.embeddings(model_id)
        # Damaged, truncated or missing index files: rebuilt from the stored embeddings (seconds), not trusted.
        # An index from before fingerprints were kept is rebuilt too, without calling it damaged.
        needs_building = self.index is None and len(self.shas) > 0
        self.rebuilt = needs_building and fingerprint is not None
        if needs_building:
            self.index = self._rebuild(model_id)
        self.row_of = {sha: i for i, sha in enumerate(self.shas)}
        files = catalog.present_files()
        self.path_of: dict[str, str] = {}
        self.raw_of: dict[str, bytes] = {}
        for f in files:
            self.path_of.setdefault(f["sha256"], f["path"])
            self.raw_of.setdefault(f["sha256"], f["path_raw"])

    def _rebuild(self, model_id: str) -> Optional[ann.AnnIndex]:
        try:
            fingerprint = ann.build(self.catalog.directory, self.shas, self.vectors, model_id)
            self.catalog.set_meta(ann.FINGERPRINT_KEY, fingerprint)
            return ann.load(self.catalog.directory, model_id, fingerprint) or ann.in_memory(self.shas, self.vectors)
        except (OSError, CatalogError):  # a read-only catalogue folder: search this session all the same
            return ann.in_memory(self.shas, self.vectors)

    @property
    def ready(self) -> bool:
        return self.index is not None and len(self.shas) > 0

    def embed_bytes(self, data: bytes) -> np.ndarray:
        return self.embedder.embed([decode(data).image])[0]

    def query_vector(self, vector: np.ndarray, k: int = 10, exclude: Optional[str] = None) -> list[Hit]:
        if not self.ready:
            return []
        ids = self.index.query(vector, k * CANDIDATES_PER_RESULT)
        shas = [self.index.shas[i] for i in ids]
        rows = [self.row_of[s] for s in shas if s in self.row_of and s != exclude]
        if not rows:
            return []
        sims = self.vectors[rows] @ vector
        order = np.argsort(-sims)[:k]
        return [Hit(self.path_of.get(self.shas[rows[i]], "?"), self.shas[rows[i]], float(sims[i]),
                    self.raw_of.get(self.shas[rows[i]], b"")) for i in order]

    def query_file(self, path: Path, k: int = 10) -> list[Hit]:
        return self.query_vector(self.embed_bytes(read_image_file(path)), k)

    def similar_to(self, sha256: str, k: int = 10) -> list[Hit]:
        """Catalogue pictures most like one already in the catalogue (itself excluded)."""
        if sha256 not in self.row_of:
            return []
        return self.query_vector(self.vectors[self.row_of[sha256]], k, exclude=sha256)

    def close(self) -> None:
        if self.index is not None:
            self.index.close()
