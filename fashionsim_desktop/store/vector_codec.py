"""How a picture's embedding is stored: 8 bits a value, with each vector's own range, a quarter of float32's
bytes.

A 1600-d float32 embedding is 6,400 bytes, more than a SQLite page, so each picture's row spilled into overflow
pages (about 8 KB a picture, 8 GB at a million). At 8 bits it is 1,608 bytes and rows share pages. The rounding moves
a cosine between two pictures by about 1e-4, far below any threshold's margin (models/README.md, "Compact
embeddings"). Rows written before schema 6 stay float32 (`embedding_format` NULL) and are read as they are.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

UINT8 = "uint8"
_HEADER = np.dtype("<f4")  # two of them before the values: the lowest value and the step between levels


def encode(vector: np.ndarray) -> tuple[bytes, str]:
    """(blob, format) of a vector: 256 evenly spaced levels between its lowest and highest value."""
    v = np.asarray(vector, dtype=np.float32)
    low, high = float(v.min()), float(v.max())
    step = (high - low) / 255.0 or 1.0
    q = np.clip(np.rint((v - low) / step), 0, 255).astype(np.uint8)
    return np.array([low, step], dtype=_HEADER).tobytes() + q.tobytes(), UINT8


def decode(blob: bytes, fmt: Optional[str]) -> np.ndarray:
    """The stored vector as float32, of unit length again (rounding leaves it a hair off)."""
    if fmt == UINT8:
        low, step = np.frombuffer(blob, dtype=_HEADER, count=2)
        v = np.frombuffer(blob, dtype=np.uint8, offset=2 * _HEADER.itemsize).astype(np.float32) * step + low
        norm = float(np.linalg.norm(v))
        return v / norm if norm > 0 else v
    if fmt is None:
        return np.frombuffer(blob, dtype=np.float32)
    raise ValueError(f"unknown embedding format {fmt!r}")
