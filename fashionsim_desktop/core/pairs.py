"""Candidate pairs and their duplicate score.

Candidates come from each picture's nearest neighbours in the ANN index (no quadratic step), kept when the
full-vector cosine is at least `CANDIDATE_COSINE`. Each candidate is verified (core/verify.py, in the workers
of core/verify_worker.py) and scored in [0, 1] by a logistic combination of the verification evidence, fitted
on one half of the shared H&M packshots with generated variants and checked on the other half and on Myntra
photos (models/README.md).
"""
from __future__ import annotations

import math
import zlib
from typing import TYPE_CHECKING, Optional

import numpy as np

if TYPE_CHECKING:  # the verifier itself (OpenCV) runs in the workers: core/verify_worker.py
    from .verify import Evidence

# v2: pixels compared only from COMPARE_FROM_INLIERS matching details; v3: correlation where both show garment,
# and the same-photo floor on the score; v5: where the two differ (Evidence.differ, differ_block) and the
# look-alike rule, the retoned-copy rule
VERIFIER_VERSION = "orb-v5"
# The index is asked for each picture's 6 nearest others (fewer makes its approximate search miss more of the
# true 3 nearest). The 3 nearest by full-vector cosine are verified, and beyond them only near-identical
# pictures (several copies of one photo must all pair up). On both halves of the benchmark this finds the same
# duplicates as verifying the 5 nearest but for one pair of 965 (exact neighbours), with a third fewer pairs to
# verify: past the third, the neighbours of a packshot are its colourways and look-alikes.
NEIGHBOURS = 6
NEAREST_VERIFIED = 3
CLOSE_COPY_COSINE = 0.95
# A mirrored copy keeps most of the embedding (cosine >= 0.945 for every mirror pair of the tune half, 0.967
# on the check half), so pairs below this are not tried mirrored.
MIRROR_MIN_COSINE = 0.92
CANDIDATE_COSINE = 0.84  # every generated variant of 1,200 originals (3 sets) scored >= 0.87
# The single nearest other picture is verified from a lower floor: a copy cropped by 12-22% on each side embeds
# at 0.78-0.84 from its original and is still its nearest picture. It adds 5 of 3,188 pairs to verify on the
# benchmark's check set (7% on the speed benchmark's folder) and finds one more duplicate on each half; the
# stress set's heavy crops go from 0.57 to 0.62-0.75.
NEAREST_COSINE = 0.76
DEFAULT_MIN_SCORE = 0.6  # tuned on the "tune" half: benchmarks/accuracy.py --split tune (models/README.md)

# Logistic weights over (log1p inliers, ncc, agree, chroma/10, lightness/25); see models/README.md.
WEIGHTS = (1.472, 2.315, 1.535, -0.718, -0.454)
BIAS = -8.74
# Colour rules that hold for any catalogue: a colourway is a different product, whatever the shape says.
CHROMA_LIMIT = 12.0  # Lab a/b distance; tone edits stayed under 8.2 on the tuning set
LIGHTNESS_LIMIT = 35.0  # black vs grey colourways differ in L only
COLOUR_CAP = 0.2
# With fewer matching details than this, even pixel-perfect agreement scores below 0.3 (see
# tests/test_verify.py), so the pixel comparison -- most of the verification cost -- is skipped. About 60%
# of candidates, nearly all of them different garments or colourways, stop here.
COMPARE_FROM_INLIERS = 15
# The same photo: once aligned, structure and colour agree almost exactly. Such pairs are duplicates however few
# details matched (a small or heavily downscaled garment gives ORB little to find), so they score at least
# SAME_PHOTO_SCORE. On the tune half this recovers 4 true pairs and touches no other pair; the nearest
# different-garment pair there has a correlation of 0.91.
SAME_PHOTO = {"ncc": 0.97, "agree": 0.97, "chroma": 3.0, "lightness": 3.0}
SAME_PHOTO_SCORE = 0.9
# A brightened or darkened copy: the same structure (as SAME_PHOTO) with only the lightness moved past its rule.
# Such a pair is not capped; the logistic score decides. No pair of different garments or colourways among either
# benchmark half's candidates reaches this structure (none has ncc and agreement >= 0.95), while 5 tune-half
# duplicates did and were capped (lightness 36-46). Chroma keeps its rule: a saturation edit and a hue
# recolour of a pale garment both move it by 11-16, and only the latter is another product.
RETONED = {"ncc": 0.97, "agree": 0.97, "chroma": CHROMA_LIMIT, "lightness": 60.0}
# A re-toned copy shown as such by where the pictures differ: structure that agrees closely and (almost) no
# garment cell one tone change cannot explain (Evidence.differ). It is the same photo however few details
# matched, so it escapes the lightness rule as RETONED does and scores at least SAME_PHOTO_SCORE. On the tune
# half this finds 4 more duplicates (a padded copy, a crop + re-encode + tone copy, a crop and a tone edit that
# scored 0.40-0.57) and touches no other pair; the nearest different-garment pairs (two white shirts laid out
# alike) have ncc 0.88-0.91.
RETONED_COPY = {"ncc": 0.93, "agree": 0.93, "chroma": CHROMA_LIMIT, "lightness": 60.0, "differ": 0.05}
# Two products photographed in one template: aligned by many matching details, yet the garment differs beyond one
# tone change over a large share of its cells, or in a solid block of them (a swapped shirt, other briefs on the
# same body). Measured on the tune half's candidates (models/README.md, "Look-alike rejection"): duplicates
# proposed at the default threshold reach a differing share of 0.215 and a block share of 0.063; the look-alikes
# proposed there by orb-v4 start at a differing share of 0.316. The share limit sits halfway, the block limit
# above every duplicate's with room.
LOOKALIKE_DIFFER = 0.26
LOOKALIKE_BLOCK = 0.08
LOOKALIKE_CAP = 0.2


def score(ev: Evidence) -> float:
    if ev.inliers == 0:
        return 0.0
    s = logistic(ev)
    if colours_apart(ev) and not (_within(ev, RETONED) or is_retoned_copy(ev)):
        s = min(s, COLOUR_CAP)
    elif is_lookalike(ev):
        s = min(s, LOOKALIKE_CAP)
    elif is_same_photo(ev) or is_retoned_copy(ev):
        s = max(s, SAME_PHOTO_SCORE)
    return s


def logistic(ev: Evidence) -> float:
    """The fitted combination of the evidence, before the colour, look-alike and same-photo rules."""
    if ev.inliers == 0:
        return 0.0
    x = (math.log1p(ev.inliers), ev.ncc, ev.agree, min(ev.chroma, 40.0) / 10.0, min(ev.lightness, 100.0) / 25.0)
    logit = BIAS + sum(w * v for w, v in zip(WEIGHTS, x))
    return 1.0 / (1.0 + math.exp(-logit))


def is_other_colour(ev: Evidence) -> bool:
    """The same garment shot alike in another colour: aligned and compared, shaped like a copy (the fitted
    combination reaches the duplicate threshold), and only the colour rules keep it from being one."""
    return (ev.compared and colours_apart(ev) and not (_within(ev, RETONED) or is_retoned_copy(ev))
            and logistic(ev) >= DEFAULT_MIN_SCORE)


def is_same_photo(ev: Evidence) -> bool:
    return _within(ev, SAME_PHOTO)


def is_retoned_copy(ev: Evidence) -> bool:
    return _within(ev, RETONED_COPY) and ev.cells > 0 and ev.differ <= RETONED_COPY["differ"]


def colours_apart(ev: Evidence) -> bool:
    """The colour rules: a colourway (or a recolour) whatever the shape says. (Pixels not compared leave both at
    99, so such a pair is capped too.)"""
    return ev.chroma > CHROMA_LIMIT or ev.lightness > LIGHTNESS_LIMIT


def is_lookalike(ev: Evidence) -> bool:
    """Two products shot in one template (the same model and pose, packaging or flat-lay): the pixels were
    compared, the colours are not simply another colourway's, and the garment differs where a copy would not.
    The one policy: score() caps such pairs, and the tiers and their words (core/evidence_words.py) use it."""
    return (ev.compared and ev.cells > 0 and not colours_apart(ev)
            and (ev.differ >= LOOKALIKE_DIFFER or ev.differ_block >= LOOKALIKE_BLOCK))


def _within(ev: Evidence, limits: dict) -> bool:
    """Pixels compared, structure at least as alike and colour at most as far apart as `limits` say."""
    return (ev.compared and ev.ncc >= limits["ncc"] and ev.agree >= limits["agree"]
            and ev.chroma <= limits["chroma"] and ev.lightness <= limits["lightness"])


def candidates_basis(index_fingerprint: Optional[str]) -> str:
    """What the candidate pairs of an index depend on: the index's files, the verifier and the rules above. A
    finished pair phase records it; while it is unchanged, the next run has no candidate left to verify."""
    rules = (VERIFIER_VERSION, NEIGHBOURS, NEAREST_VERIFIED, NEAREST_COSINE, CANDIDATE_COSINE, CLOSE_COPY_COSINE)
    return f"{zlib.crc32((index_fingerprint or '').encode()):08x}/" + "/".join(map(str, rules))


def candidate_pairs(index, shas: list[str], vectors: np.ndarray, skip: set[tuple[str, str]],
                    on_progress=None) -> list[tuple[str, str, float]]:
    """(sha_a, sha_b, cosine) for neighbour pairs worth verifying and not yet verified; sha_a < sha_b."""
    out: dict[tuple[str, str], float] = {}
    total = len(shas)
    for i in range(total):
        neighbours = [j for j in index.neighbours_of(i, NEIGHBOURS) if j != i][:NEIGHBOURS]
        if neighbours:
            cos = vectors[neighbours] @ vectors[i]
            for t in worth_verifying(cos):
                j = neighbours[t]
                key = (shas[i], shas[j]) if shas[i] < shas[j] else (shas[j], shas[i])
                if key not in skip:
                    out[key] = float(cos[t])
        if on_progress and (i % 1000 == 0 or i == total - 1):
            on_progress(i + 1, total)
    return [(a, b, c) for (a, b), c in out.items()]


def worth_verifying(cosines: np.ndarray) -> list[int]:
    """Positions of the neighbours to verify, given their full-vector cosines to the picture: the
    NEAREST_VERIFIED closest at or above CANDIDATE_COSINE (the very nearest from NEAREST_COSINE), then any
    further one at or above CLOSE_COPY_COSINE.
    The index's own order is approximate, so the full vectors rank them."""
    chosen = []
    for rank, t in enumerate(np.argsort(-cosines, kind="stable")):
        c = cosines[t]
        if c < (NEAREST_COSINE if rank == 0 else CANDIDATE_COSINE) or (
                rank >= NEAREST_VERIFIED and c < CLOSE_COPY_COSINE):
            break
        chosen.append(int(t))
    return chosen


def locality_order(candidates: list[tuple[str, str, float]]) -> list[tuple[str, str, float]]:
    """Order pairs so that pairs sharing a picture come close together (breadth-first over the candidate
    graph): each worker then finds most pictures already decoded in its cache."""
    neighbours: dict[str, list[str]] = {}
    for a, b, _ in candidates:
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    rank: dict[str, int] = {}
    for start in sorted(neighbours):
        if start in rank:
            continue
        queue = [start]
        rank[start] = len(rank)
        for node in queue:  # the list grows while we walk it: breadth-first
            for other in sorted(neighbours[node]):
                if other not in rank:
                    rank[other] = len(rank)
                    queue.append(other)
    return sorted(candidates, key=lambda t: (min(rank[t[0]], rank[t[1]]), max(rank[t[0]], rank[t[1]])))
