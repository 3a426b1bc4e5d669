"""Perceptual hashes as fixed-width hex strings (what imagehash computes), comparable in SQL and Python.

A 64-bit hash is 16 hex digits; `hamming(a, b)` works on those strings or on ints.
"""
from __future__ import annotations

import imagehash
from PIL import Image

# wHash and the colour hash were stored too at first; they cost 5 ms per picture (a sixth of the indexing
# time) and nothing used them: colour is judged after alignment by the verifier, which a global hash cannot be.
# Their columns stay in the schema (empty) so older catalogues open unchanged.
HASH_NAMES = ("phash", "dhash")


def compute_hashes(im: Image.Image) -> dict[str, str]:
    """pHash and dHash (64 bits each) of an RGB image, as imagehash computes them."""
    grey = im.convert("L")
    return {"phash": str(imagehash.phash(grey)), "dhash": str(imagehash.dhash(grey))}


def hamming(a: str | int, b: str | int) -> int:
    x = int(a, 16) if isinstance(a, str) else a
    y = int(b, 16) if isinstance(b, str) else b
    return (x ^ y).bit_count()
