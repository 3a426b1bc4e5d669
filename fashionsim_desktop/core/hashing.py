"""Perceptual hashes as fixed-width hex strings (what imagehash computes), comparable in SQL and Python.

A 64-bit hash is 16 hex digits; `hamming(a, b)` works on those strings or on ints.
"""
from __future__ import annotations

import imagehash
from PIL import Image

HASH_NAMES = ("phash", "dhash", "whash", "colorhash")


def compute_hashes(im: Image.Image) -> dict[str, str]:
    """pHash, dHash and wHash (64 bits each) and the colour hash (42 bits) of an RGB image."""
    grey = im.convert("L")
    return {
        "phash": str(imagehash.phash(grey)),
        "dhash": str(imagehash.dhash(grey)),
        "whash": str(imagehash.whash(grey)),
        "colorhash": str(imagehash.colorhash(im)),
    }


def hamming(a: str | int, b: str | int) -> int:
    x = int(a, 16) if isinstance(a, str) else a
    y = int(b, 16) if isinstance(b, str) else b
    return (x ^ y).bit_count()
