"""Approximate nearest neighbours over the catalogue's embeddings (Annoy, angular), memory-mapped for queries.

Annoy holds a fixed, seeded random projection of each embedding to `PROJECTED_DIM` dimensions: the index
stays small (about 1 KB a picture) and fast, and every candidate it returns is re-scored with the full
stored vector, so the projection only decides who is looked at, never the final similarity.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from annoy import AnnoyIndex

PROJECTED_DIM = 256
N_TREES = 32
SEARCH_K_PER_RESULT = 100  # search_k = k * this: 99.7% of near twins found on 20k synthetic (benchmarks/speed.py)
# Never search fewer nodes than this: asking for fewer neighbours must not make the search shallower (with 6
# neighbours, twin recall on 100k synthetic is 0.961 without the floor, 0.967 with it).
MIN_SEARCH_K = 1000
INDEX_NAME = "vectors.ann"
IDS_NAME = "vectors.ids.json"


def projection(dim: int, seed: int = 20261124) -> np.ndarray:
    """A fixed orthonormal projection dim -> PROJECTED_DIM (identity if dim is already small)."""
    if dim <= PROJECTED_DIM:
        return np.eye(dim, dtype=np.float32)
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((dim, PROJECTED_DIM)))
    return q.astype(np.float32)


def _search_k(results: int) -> int:
    """How many tree nodes Annoy inspects to return `results` items."""
    return max(MIN_SEARCH_K, results * SEARCH_K_PER_RESULT)


@dataclass
class AnnIndex:
    index: AnnoyIndex
    shas: list[str]
    proj: np.ndarray

    def query(self, vector: np.ndarray, k: int) -> list[int]:
        """Ids of about k nearest items (unordered by true similarity: re-score with full vectors)."""
        v = (vector @ self.proj).tolist()
        return self.index.get_nns_by_vector(v, k, search_k=_search_k(k))

    def neighbours_of(self, item: int, k: int) -> list[int]:
        return self.index.get_nns_by_item(item, k + 1, search_k=_search_k(k + 1))

    def close(self) -> None:
        self.index.unload()


def build(directory: Path, shas: list[str], vectors: np.ndarray, model_id: str,
          on_progress: Optional[Callable[[int, int], None]] = None) -> None:
    """Build and save atomically (written beside, then renamed), so a crash never leaves half an index."""
    dim = vectors.shape[1]
    proj = projection(dim)
    out_dim = proj.shape[1]
    index = AnnoyIndex(out_dim, "angular")
    index.set_seed(42)
    projected = vectors @ proj
    total = len(shas)
    for i in range(total):
        index.add_item(i, projected[i].tolist())
        if on_progress and (i % 2000 == 0 or i == total - 1):
            on_progress(i + 1, total + 1)
    index.build(N_TREES, n_jobs=1)
    tmp_index = directory / (INDEX_NAME + ".tmp")
    tmp_ids = directory / (IDS_NAME + ".tmp")
    index.save(str(tmp_index))
    index.unload()
    tmp_ids.write_text(json.dumps({"model_id": model_id, "dim": dim, "shas": shas}))
    os.replace(tmp_index, directory / INDEX_NAME)
    os.replace(tmp_ids, directory / IDS_NAME)
    if on_progress:
        on_progress(total + 1, total + 1)


def load(directory: Path, model_id: str) -> Optional[AnnIndex]:
    """The saved index (memory-mapped), or None when missing or built with another model."""
    ids_path, index_path = directory / IDS_NAME, directory / INDEX_NAME
    if not ids_path.exists() or not index_path.exists():
        return None
    meta = json.loads(ids_path.read_text())
    if meta.get("model_id") != model_id or not meta["shas"]:
        return None
    proj = projection(meta["dim"])
    index = AnnoyIndex(proj.shape[1], "angular")
    index.load(str(index_path))  # mmap: the OS pages it in on demand
    return AnnIndex(index=index, shas=meta["shas"], proj=proj)
