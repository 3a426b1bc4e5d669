"""Per-picture features, computed in worker processes: decode once, hash, embed.

`init_worker` loads one onnxruntime session per process (one thread each: processes, not threads,
use the cores, because decoding and hashing hold the GIL). `compute_chunk` turns (sha256, path) pairs into
rows for the `images` table, or an error reason per picture that cannot be decoded.
"""
from __future__ import annotations

from typing import Optional

from .embedder import Embedder
from .hashing import compute_hashes
from .imaging import DecodeError, decode_file

_embedder: Optional[Embedder] = None


def init_worker(model_path: str) -> None:
    global _embedder
    import cv2

    cv2.setNumThreads(1)
    _embedder = Embedder(model_path, threads=1)


def compute_chunk(items: list[tuple[str, str]]) -> tuple[list[dict], list[tuple[str, str]]]:
    """Returns (image rows, [(sha256, reason)] for pictures that could not be decoded)."""
    assert _embedder is not None, "init_worker was not called"
    rows, errors, pictures = [], [], []
    for sha, path in items:
        try:
            decoded = decode_file(path)
        except DecodeError as exc:
            errors.append((sha, str(exc)))
            continue
        except OSError as exc:
            errors.append((sha, f"cannot be read: {exc.strerror or exc}"))
            continue
        row = {"sha256": sha, "width": decoded.width, "height": decoded.height, "format": decoded.format}
        row.update(compute_hashes(decoded.image))
        rows.append(row)
        pictures.append(decoded.image)
    if pictures:
        vectors = _embedder.embed(pictures)
        for row, vector in zip(rows, vectors):
            row["embedding"] = vector.astype("float32").tobytes()
            row["model_id"] = _embedder.model_id
    return rows, errors
