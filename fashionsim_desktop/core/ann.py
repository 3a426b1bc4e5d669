"""Approximate nearest neighbours over the catalogue's embeddings (Annoy, angular), memory-mapped for queries.

Annoy holds a fixed, seeded random projection of each embedding to `PROJECTED_DIM` dimensions: the index
stays small (about 1 KB a picture) and fast, and every candidate it returns is re-scored with the full
stored vector, so the projection only decides who is looked at, never the final similarity.

`build` returns a fingerprint of the saved files (sizes and CRC-32s) for the caller to keep in the catalogue;
`load` refuses files that do not match it: Annoy trusts its file blindly and crashes or answers wrongly on a
damaged one.
"""
from __future__ import annotations

import json
import os
import zlib
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
FINGERPRINT_KEY = "ann_fingerprint"  # the catalogue meta key callers keep build()'s fingerprint under
# The product vectors (core/product_vectors.py) have an index of their own beside it, built the same way.
PRODUCTS = "products"
PRODUCTS_FINGERPRINT_KEY = "product_ann_fingerprint"


def _file_names(name: str) -> tuple[str, str]:
    return f"{name}.ann", f"{name}.ids.json"


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
        return [i for i in self.index.get_nns_by_vector(v, k, search_k=_search_k(k)) if i < len(self.shas)]

    def neighbours_of(self, item: int, k: int) -> list[int]:
        return [i for i in self.index.get_nns_by_item(item, k + 1, search_k=_search_k(k + 1)) if i < len(self.shas)]

    def close(self) -> None:
        self.index.unload()


def _crc32(path: Path) -> int:
    """Streamed through one reusable buffer: about 0.1 s for 100 MB, whatever the file size."""
    crc, buf = 0, bytearray(1 << 20)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            crc = zlib.crc32(view[:n], crc)
    return crc


def _make(shas: list[str], vectors: np.ndarray,
          on_progress: Optional[Callable[[int, int], None]] = None) -> tuple[AnnoyIndex, np.ndarray]:
    proj = projection(vectors.shape[1])
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
    return index, proj


def build(directory: Path, shas: list[str], vectors: np.ndarray, model_id: str,
          on_progress: Optional[Callable[[int, int], None]] = None, name: str = "vectors") -> str:
    """Build and save atomically (written beside, then renamed), so a crash never leaves half an index.

    Returns the fingerprint (JSON text) that `load` checks the files against. `name` names the files
    (`vectors` for the embeddings, `products` for the product vectors); `model_id` identifies what made them.
    """
    index_name, ids_name = _file_names(name)
    index, _ = _make(shas, vectors, on_progress)
    suffix = f".{os.getpid()}.tmp"  # the window's search may rebuild while an indexing run does
    tmp_index = directory / (index_name + suffix)
    tmp_ids = directory / (ids_name + suffix)
    index.save(str(tmp_index))
    index.unload()
    tmp_ids.write_text(json.dumps({"model_id": model_id, "dim": vectors.shape[1], "shas": shas}))
    fingerprint = json.dumps({file_name: [os.path.getsize(path), _crc32(path)]
                              for file_name, path in ((index_name, tmp_index), (ids_name, tmp_ids))})
    os.replace(tmp_index, directory / index_name)
    os.replace(tmp_ids, directory / ids_name)
    if on_progress:
        on_progress(len(shas) + 1, len(shas) + 1)
    return fingerprint


def in_memory(shas: list[str], vectors: np.ndarray) -> AnnIndex:
    """An index that is never saved: for searching when the catalogue folder cannot be written."""
    index, proj = _make(shas, vectors)
    return AnnIndex(index=index, shas=shas, proj=proj)


def holds_exactly(directory: Path, model_id: str, fingerprint: Optional[str], shas: list[str],
                  name: str = "vectors") -> bool:
    """Whether the saved index is sound and holds exactly these pictures, in this order: then building it again
    would give the same index, and a run where nothing changed need not."""
    index = load(directory, model_id, fingerprint, name)
    if index is None:
        return False
    try:
        return index.shas == shas
    finally:
        index.close()


def load(directory: Path, model_id: str, fingerprint: Optional[str], name: str = "vectors") -> Optional[AnnIndex]:
    """The saved index (memory-mapped), or None when missing, built with another model, or not the files
    `fingerprint` (from `build`) describes: damaged, truncated or replaced. No fingerprint: None too."""
    index_name, ids_name = _file_names(name)
    ids_path, index_path = directory / ids_name, directory / index_name
    try:
        expected = json.loads(fingerprint or "null")
        ann_size, ann_crc = expected[index_name]
        ids_size, ids_crc = expected[ids_name]
        ids_bytes = ids_path.read_bytes()  # checked and parsed from the same bytes
        # Sizes first: a truncated file is refused without reading it.
        if os.path.getsize(index_path) != ann_size or len(ids_bytes) != ids_size:
            return None
        if zlib.crc32(ids_bytes) != ids_crc or _crc32(index_path) != ann_crc:
            return None
        meta = json.loads(ids_bytes)
        shas, dim = meta["shas"], int(meta["dim"])
        if meta.get("model_id") != model_id or not shas:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    proj = projection(dim)
    index = AnnoyIndex(proj.shape[1], "angular")
    try:
        index.load(str(index_path))  # mmap: the OS pages it in on demand
    except OSError:
        return None
    if index.get_n_items() != len(shas):
        index.unload()
        return None
    return AnnIndex(index=index, shas=shas, proj=proj)
