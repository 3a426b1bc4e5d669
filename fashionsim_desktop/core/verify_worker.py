"""The verification worker: runs in a worker process, verifies chunks of candidate pairs and scores them.

Each picture is prepared once (pixels and keypoints) and kept in a small cache, since pairs arrive ordered so
that those sharing a picture come together (pairs.locality_order). Pixels come from the working copy the
feature workers left (core/workcopies.py) when there is one, else the picture is decoded again.
"""
from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Iterable, Optional

import numpy as np

from .imaging import DecodeError, decode, read_image_file
from .pairs import COMPARE_FROM_INLIERS, MIRROR_MIN_COSINE, VERIFIER_VERSION, score
from .verify import Prepared, verify
from .workcopies import WorkingCopies

_CACHE_SIZE = 512
_cache: "OrderedDict[str, Optional[Prepared]]" = OrderedDict()
_copies: Optional[WorkingCopies] = None


def init_worker(working_copies: Optional[str] = None) -> None:
    global _copies
    _copies = WorkingCopies(working_copies) if working_copies else None
    _cache.clear()


def _pixels(sha: str, path: str) -> Optional[np.ndarray]:
    rgb = _copies.get(sha) if _copies is not None else None
    if rgb is not None:
        return rgb
    try:
        data = read_image_file(path)
        if hashlib.sha256(data).hexdigest() != sha:
            return None  # the file changed since it was indexed: never verify another picture in its place
        return np.asarray(decode(data).image)
    except (DecodeError, OSError):
        return None  # changed or vanished since indexing; the next index run will catch up


def _prepared(sha: str, path: str) -> Optional[Prepared]:
    if sha in _cache:
        _cache.move_to_end(sha)
        return _cache[sha]
    rgb = _pixels(sha, path)
    item = Prepared(rgb) if rgb is not None else None
    _cache[sha] = item
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return item


def verify_chunk(items: Iterable[tuple[str, str, str, str, float]]) -> list[dict]:
    """items: (sha_a, path_a, sha_b, path_b, cosine) -> rows for the `verified` table."""
    rows = []
    for sha_a, path_a, sha_b, path_b, cosine in items:
        a, b = _prepared(sha_a, path_a), _prepared(sha_b, path_b)
        if a is None or b is None:
            continue
        ev = verify(a, b, try_mirror=cosine >= MIRROR_MIN_COSINE, compare_from=COMPARE_FROM_INLIERS)
        rows.append({"sha_a": sha_a, "sha_b": sha_b, "verifier": VERIFIER_VERSION, "cosine": round(cosine, 5),
                     "score": round(score(ev), 5), "evidence": json.dumps(ev.as_dict())})
    return rows
