"""Query by example: the catalogue pictures most similar to images that need not be in the catalogue."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from . import ann
from .embedder import Embedder
from .imaging import decode
from ..store.catalog import Catalog

CANDIDATES_PER_RESULT = 4  # look at 4x as many ANN candidates, then rank them by full-vector cosine


@dataclass
class Hit:
    path: str
    sha256: str
    similarity: float


class Searcher:
    """Holds the model session and the memory-mapped index: load once, query many times."""

    def __init__(self, catalog: Catalog, embedder: Optional[Embedder] = None):
        self.catalog = catalog
        self.embedder = embedder or Embedder(threads=2)
        self.index = ann.load(catalog.directory, self.embedder.model_id)
        self.shas, self.vectors = catalog.embeddings(self.embedder.model_id)
        self.row_of = {sha: i for i, sha in enumerate(self.shas)}
        files = catalog.present_files()
        self.path_of: dict[str, str] = {}
        for f in files:
            self.path_of.setdefault(f["sha256"], f["path"])

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
        return [Hit(self.path_of.get(self.shas[rows[i]], "?"), self.shas[rows[i]], float(sims[i])) for i in order]

    def query_file(self, path: Path, k: int = 10) -> list[Hit]:
        return self.query_vector(self.embed_bytes(Path(path).read_bytes()), k)

    def similar_to(self, sha256: str, k: int = 10) -> list[Hit]:
        """Catalogue pictures most like one already in the catalogue (itself excluded)."""
        if sha256 not in self.row_of:
            return []
        return self.query_vector(self.vectors[self.row_of[sha256]], k, exclude=sha256)

    def close(self) -> None:
        if self.index is not None:
            self.index.close()
