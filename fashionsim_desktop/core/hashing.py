"""Perceptual hashes as fixed-width hex strings (what imagehash computes), comparable in SQL and Python.

A 64-bit hash is 16 hex digits; `hamming(a, b)` works on those strings or on ints.

pHash is imagehash's algorithm (32 x 32 grey, Lanczos; the 8 x 8 lowest frequencies of the DCT-II, each bit
"above their median") with the DCT as one small matrix product instead of `scipy.fftpack.dct`: scipy would be
loaded for this one call, and it and its OpenBLAS are 34 MB of the packaged app. The hashes are the ones
imagehash gives (tests/test_hashing.py checks it on real pictures), so stored catalogues stay valid.
"""
from __future__ import annotations

import imagehash
import numpy as np
from PIL import Image

# wHash and the colour hash were stored too at first; they cost 5 ms per picture (a sixth of the indexing
# time) and nothing used them: colour is judged after alignment by the verifier, which a global hash cannot be.
# Their columns stay in the schema (empty) so older catalogues open unchanged.
HASH_NAMES = ("phash", "dhash")

_PHASH_SIDE = 32  # imagehash.phash's hash_size 8 x highfreq_factor 4
# Rows k = 0..7 of the unnormalised DCT-II over 32 samples, as scipy.fftpack.dct computes it:
# y[k] = 2 * sum_n x[n] * cos(pi * k * (2n + 1) / (2N)).
_DCT_LOW = 2.0 * np.cos(np.pi * np.arange(8)[:, None] * (2 * np.arange(_PHASH_SIDE)[None, :] + 1)
                        / (2 * _PHASH_SIDE))


def phash(grey: Image.Image) -> str:
    """imagehash.phash(grey) as its hex string, without scipy."""
    pixels = np.asarray(grey.resize((_PHASH_SIDE, _PHASH_SIDE), Image.Resampling.LANCZOS), dtype=np.float64)
    low = _DCT_LOW @ pixels @ _DCT_LOW.T
    # scipy's FFT gives exact zeros where a flat or evenly graded picture has no detail; the matrix product leaves
    # rounding noise there (about 1e-12), which would decide those bits. No real detail is this small.
    low[np.abs(low) < 1e-6] = 0.0
    bits = (low > np.median(low)).ravel()
    return f"{int(''.join('1' if bit else '0' for bit in bits), 2):016x}"


def compute_hashes(im: Image.Image) -> dict[str, str]:
    """pHash and dHash (64 bits each) of an RGB image, as imagehash computes them."""
    grey = im.convert("L")
    return {"phash": phash(grey), "dhash": str(imagehash.dhash(grey))}


def hamming(a: str | int, b: str | int) -> int:
    x = int(a, 16) if isinstance(a, str) else a
    y = int(b, 16) if isinstance(b, str) else b
    return (x ^ y).bit_count()
