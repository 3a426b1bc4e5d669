"""Per-picture features, computed in worker processes: decode once, hash, embed.

`init_worker` loads one onnxruntime session per process (one thread each: processes, not threads,
use the cores, because decoding and hashing hold the GIL). `compute_chunk` turns (sha256, path, keep) items
into rows for the `images` table, or an error reason per picture that cannot be decoded; the working copy of
each picture marked `keep` is left for the verification workers (core/workcopies.py).

The features stored for a sha256 come from exactly the bytes that have that sha256: the file is read once, and
those bytes are both hashed and decoded. A file overwritten or cut short since its checksum was taken is
reported as changed (read again on the next run), so it never lends its new content, or its damage, to the
intact byte copies that share the old sha256.
"""
from __future__ import annotations

import hashlib
from typing import Optional

import numpy as np

from .embedder import Embedder
from .hashing import compute_hashes
from .imaging import DecodeError, decode, read_image_file
from .workcopies import WorkingCopies
from ..store import vector_codec

_embedder: Optional[Embedder] = None
_copies: Optional[WorkingCopies] = None


def init_worker(model_path: str, working_copies: Optional[str] = None) -> None:
    global _embedder, _copies
    import cv2

    cv2.setNumThreads(1)
    _embedder = Embedder(model_path, threads=1)
    _copies = WorkingCopies(working_copies) if working_copies else None


def compute_chunk(items: list[tuple[str, str, bool]]) -> tuple[list[dict], list[tuple[str, str]], list[str]]:
    """Returns (image rows, [(sha256, reason)] for pictures that could not be decoded, [paths whose bytes no
    longer have the sha256 they were listed with])."""
    assert _embedder is not None, "init_worker was not called"
    rows, errors, changed, pictures = [], [], [], []
    for sha, path, keep in items:
        try:
            data = read_image_file(path)
        except DecodeError:  # not a regular file any more, or over the size cap
            changed.append(path)
            continue
        except OSError:  # vanished or unreadable now: the next run's scan and checksum will say why
            changed.append(path)
            continue
        if hashlib.sha256(data).hexdigest() != sha:
            changed.append(path)
            continue
        try:
            decoded = decode(data)
        except DecodeError as exc:
            errors.append((sha, str(exc)))
            continue
        row = {"sha256": sha, "width": decoded.width, "height": decoded.height, "format": decoded.format}
        row.update(compute_hashes(decoded.image))
        rows.append(row)
        pictures.append(decoded.image)
        if keep and _copies is not None:
            _copies.put(sha, np.asarray(decoded.image))
    if pictures:
        vectors = _embedder.embed(pictures)
        for row, vector in zip(rows, vectors):
            row["embedding"], row["embedding_format"] = vector_codec.encode(vector)
            row["model_id"] = _embedder.model_id
    return rows, errors, changed
