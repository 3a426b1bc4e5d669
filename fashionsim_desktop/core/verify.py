"""Geometric and photometric verification of one candidate pair.

Global signals (embedding cosine, hashes) cannot tell a crop of a photo from the same garment in another
colour. So each candidate pair is checked the way a person would: find the same local details in both
photos (ORB keypoints), fit one similarity transform through them (RANSAC; the mirrored photo is tried
too, and a stretched affine fit when the pixels still disagree), lay one photo over the other at the smaller
photo's resolution, and compare what is under the garment: structure (grey levels after a brightness/contrast
fit) and colour (Lab chroma, which a tone change barely moves but a colourway does).

Two products photographed in one template (the same model and pose in another shirt, one tie box with another
tie) share most of their pixels, so the whole-garment figures above can look like a copy's. So the garment is
also compared locally (`_local_difference`): split into 8 px cells, one plausible tone change (brightness,
contrast, saturation) fitted over all of them, and what it cannot explain measured. A copy differs a little
everywhere (the tone change, a re-encode) or in a few cells (a caption, a badge, the outline of a slightly
misaligned garment); a look-alike differs in a large share of the cells or in a solid block of them.

Cost matters: every picture is in a few candidate pairs. Descriptors are matched with OpenCV's batchDistance
(exact Hamming 2-nearest straight into arrays: 0.75-1 ms on 300 x 300 ORB descriptors, against 2.3 ms for
BFMatcher.knnMatch, which builds a Python object per match; faiss's binary index took 0.3-0.4 ms but added 62 MB to
the packaged app, see README "Packaged app"), the pixel comparison is skipped
when too few details match for the pair to matter (`compare_from`), and a comparison converts to Lab only
the pixels it looks at, inside the box that holds both garments.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, asdict, fields
from functools import cached_property, lru_cache
from typing import Optional

import cv2
import numpy as np

from .imaging import WORK_SIZE

cv2.setNumThreads(1)  # the pipeline already runs one worker per core

_ORB = cv2.ORB_create(nfeatures=500, fastThreshold=8, edgeThreshold=15, patchSize=15)
RATIO = 0.85
RANSAC_PIXELS = 4.0
MIRROR_TRY_BELOW = 60  # inliers: only try the mirrored photo when the direct match is not already convincing...
MIRROR_RECHECK_BELOW = 0.9  # ...or when, once aligned, its pixels disagree (ncc or agreement below this)
STRETCH_RECHECK_BELOW = 0.9  # pixels disagreeing this much after alignment: try a stretched (affine) fit too
MAX_STRETCH = 1.5  # the most one axis may be scaled against the other in a stretched fit
STRETCH_GAIN = 1.25  # a stretched fit is kept only if it matches this many times the details
SMALL_SIDE = 250  # pictures with a shorter long side are searched for keypoints upsampled to WORK_SIZE
SHRINK_FROM = 1.15  # compare at the smaller picture's resolution when the two differ by more than this factor
BACKGROUND_DELTA = 25  # a pixel further than this from the border colour counts as garment
AGREE_DELTA = 25  # grey levels within this after the tone fit count as agreeing
# The local difference map (`_local_difference`).
CELL = 8  # px of the compared frame per cell (about 3% of a packshot's width)
MIN_CELLS = 8  # fewer garment cells than this (a thin strap, a ring) say nothing about where pictures differ
FINE_BELOW = 64  # a garment filling fewer 8 px cells than this is compared in 4 px cells
# One tone change as image editors make it: every channel c -> gain * (saturation * c + (1 - saturation) * grey)
# + offset. The benchmark's tone edits span gain 0.64-1.5 and saturation 0.85-1.15 (the stress set's 0.53-1.76 and
# 0.7-1.3). An unbounded fit would also "explain" silver vs copper sunglass frames (with saturation -0.7), and
# saturation 0 would make a pale garment and its grey colourway the same photo.
TONE_GAIN = (0.5, 2.0)
TONE_SATURATION = (0.5, 1.5)
# RGB distance of a cell's mean colour from the fitted tone change that counts as differing. On the tune half it
# separates copies from look-alikes best: at 10 the tone edits' clipped highlights (skin, white) count too, at 15
# a pale shirt against another pale colour hardly does.
DIFFER_DELTA = 12.0
BLOCK_DELTA = 25.0  # ...and that counts as a strong difference, for the solid blocks


@dataclass
class Evidence:
    inliers: int = 0
    mirrored: bool = False
    scale: float = 0.0
    ncc: float = 0.0  # grey-level correlation where both photos show garment, after alignment
    agree: float = 0.0  # share of garment pixels that match after a brightness/contrast fit
    chroma: float = 99.0  # median Lab a/b distance over the garment (colourways are far apart)
    lightness: float = 99.0  # difference of median L over the garment
    compared: bool = False  # were the pixels compared (enough matching details)?
    # Where the two differ (from orb-v5; `cells` 0 means not measured, as in rows stored before):
    cells: int = 0  # garment cells (8 px, or 4 px for a small garment) the local difference map compared
    differ: float = 0.0  # share of them whose colour one tone change cannot explain
    differ_block: float = 0.0  # share of them in solid blocks (2 x 2 cells or more) of strong difference
    # What was done to the second picture, for the words a curator reads (core/evidence_words.py):
    brightness: float = 0.0  # its median lightness minus the first's (Lab L, 0..255 scale)
    angle: float = 0.0  # degrees it is turned by against the first
    stretch: float = 1.0  # how much more one axis is scaled than the other (1: the same shape)
    frame: float = 1.0  # its frame's area over the first's, at the first's scale (< 1: cropped, > 1: padded)
    background: float = 0.0  # RGB distance between the two border colours

    def as_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, stored: dict) -> "Evidence":
        """Evidence from a stored dict: keys it does not know (cosine, hash distances) are ignored, and keys
        an older verifier did not write keep their defaults."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in stored.items() if k in known})


class Prepared:
    """An image's pixels and keypoints, computed once and reused for every pair it is in.

    Keypoints are made up front (every pair needs them); the garment mask only when first used.
    """

    def __init__(self, rgb: np.ndarray, grey: Optional[np.ndarray] = None, keypoints: bool = True):
        self.rgb = np.ascontiguousarray(rgb)
        self.grey = cv2.cvtColor(self.rgb, cv2.COLOR_RGB2GRAY) if grey is None else grey
        self.points, self.descriptors = _keypoints(self.grey) if keypoints else (None, None)
        self._mirror: Optional[Prepared] = None

    @cached_property
    def background(self) -> tuple:
        return _border_colour(self.rgb)

    @cached_property
    def garment(self) -> np.ndarray:
        return _garment_mask(self.rgb, self.background)

    @cached_property
    def garment_box(self) -> tuple[int, int, int, int]:
        return cv2.boundingRect(self.garment.view(np.uint8))  # (x, y, w, h); all zero without a garment

    def mirrored(self) -> "Prepared":
        """The left-right mirror image; its keypoints are computed anew (descriptors are not symmetric)."""
        if self._mirror is None:
            self._mirror = Prepared(self.rgb[:, ::-1], np.ascontiguousarray(self.grey[:, ::-1]))
            self._mirror._mirror = self
        return self._mirror


def _keypoints(grey: np.ndarray):
    """ORB keypoints (positions in `grey`'s pixels) and descriptors.

    A small picture (a thumbnail) is searched upsampled to the working size other pictures have: at 100-130 px,
    ORB's 15 px patches and pyramid find too few details to align it with its original.
    """
    h, w = grey.shape[:2]
    factor = WORK_SIZE / max(h, w) if max(h, w) < SMALL_SIDE else 1.0
    if factor != 1.0:
        grey = cv2.resize(grey, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_LINEAR)
    keypoints, descriptors = _ORB.detectAndCompute(grey, None)
    points = cv2.KeyPoint_convert(keypoints) / np.float32(factor) if keypoints else np.zeros((0, 2), np.float32)
    return points, descriptors


def _matches(a: Prepared, b: Prepared):
    """(points in b, the same details' points in a) that pass Lowe's ratio test, or None."""
    if a.descriptors is None or b.descriptors is None or len(a.descriptors) < 4 or len(b.descriptors) < 4:
        return None
    # Each of a's descriptors' two nearest in b (Hamming), nearest first. A tie for the nearest fails the ratio
    # test, so which of the tied ones comes first never matters.
    distances, nearest = cv2.batchDistance(a.descriptors, b.descriptors, cv2.CV_32S, normType=cv2.NORM_HAMMING, K=2)
    good = distances[:, 0] < RATIO * distances[:, 1]  # Lowe's ratio test: the best match must stand out
    if good.sum() < 4:
        return None
    return b.points[nearest[good, 0]], a.points[good]


def _fit_similarity(found):
    """(inlier count, 2x3 similarity transform mapping b onto a) from `_matches`, or (0, None)."""
    if found is None:
        return 0, None
    transform, inliers = cv2.estimateAffinePartial2D(
        *found, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PIXELS, maxIters=500, confidence=0.99)
    if transform is None or inliers is None:
        return 0, None
    return int(inliers.sum()), transform


def _fit_stretched(found):
    """(inlier count, 2x3 affine transform) for a photo stretched in one direction (an aspect-ratio change), or
    (0, None). Only a plausible stretch is accepted: no mirror, and one axis at most MAX_STRETCH times the other."""
    if found is None or len(found[0]) < 6:
        return 0, None
    transform, inliers = cv2.estimateAffine2D(
        *found, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PIXELS, maxIters=500, confidence=0.99)
    if transform is None or inliers is None:
        return 0, None
    linear = transform[:, :2]
    singular = np.linalg.svd(linear, compute_uv=False)
    if np.linalg.det(linear) <= 0 or singular[0] > MAX_STRETCH * singular[1]:
        return 0, None
    return int(inliers.sum()), transform


def _axis_ratio(transform: np.ndarray) -> float:
    """How much more the transform scales one axis than the other: the ratio of its two singular values, in
    closed form (np.linalg.svd costs ten times as much for a 2 x 2 matrix, and this runs for every fit)."""
    (a, b), (c, d) = transform[0, :2].tolist(), transform[1, :2].tolist()
    square = a * a + b * b + c * c + d * d
    spread = math.sqrt(max(square * square - 4 * (a * d - b * c) ** 2, 0.0))
    larger, smaller = math.sqrt((square + spread) / 2), math.sqrt(max((square - spread) / 2, 0.0))
    return larger / max(smaller, 1e-6)


def _border_colour(rgb: np.ndarray) -> tuple:
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    return tuple(int(v) for v in np.median(border, axis=0))


def _garment_mask(rgb: np.ndarray, background: tuple) -> np.ndarray:
    # Against the colour as a scalar: no picture-sized constant image per call (comparisons crop to a new box
    # size for nearly every pair, so such images could not be reused).
    r, g, b = cv2.split(cv2.absdiff(rgb, (*background, 0)))
    return cv2.max(cv2.max(r, g), b) > BACKGROUND_DELTA


def _median(values: np.ndarray) -> float:
    """np.median of a 1-d array, without its copy and NaN checks (this runs for every compared pair)."""
    n = len(values)
    k = n // 2
    if n % 2:
        return float(np.partition(values, k)[k])
    part = np.partition(values, (k - 1, k))
    return (float(part[k - 1]) + float(part[k])) / 2


def _median_u8(values: np.ndarray) -> float:
    """np.median of uint8 values, from their histogram."""
    below = np.bincount(values, minlength=256).cumsum()
    n = int(below[-1])
    return (int(np.searchsorted(below, (n - 1) // 2, side="right")) +
            int(np.searchsorted(below, n // 2, side="right"))) / 2


def _lab_of(rgb: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Lab of the pixels under a mask only (N x 3 uint8): a conversion costs per pixel, and most are not needed."""
    pixels = np.compress(where.ravel(), rgb.reshape(-1, 3), axis=0)  # twice as fast as indexing by position
    return cv2.cvtColor(pixels[np.newaxis], cv2.COLOR_RGB2LAB)[0]


def _work_box(a: Prepared, b: Prepared, transform: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) in a's frame holding a's garment and b's garment once moved onto a.

    Outside it both photos show only background, so nothing there can change the comparison; warping and
    comparing only inside it gives the same evidence for less work.
    """
    h, w = a.rgb.shape[:2]
    ax, ay, aw, ah = a.garment_box
    bx, by, bw, bh = b.garment_box
    corners = np.float32([[bx, by, 1], [bx + bw, by, 1], [bx, by + bh, 1], [bx + bw, by + bh, 1]]) @ transform.T
    x0, y0 = corners.min(axis=0) - 2  # 2 px: bilinear interpolation reaches one pixel beyond the garment
    x1, y1 = corners.max(axis=0) + 2
    if aw and ah:
        x0, y0, x1, y1 = min(x0, ax), min(y0, ay), max(x1, ax + aw), max(y1, ay + ah)
    return max(0, int(x0)), max(0, int(y0)), min(w, int(np.ceil(x1))), min(h, int(np.ceil(y1)))


def _compare(a: Prepared, b: Prepared, transform: np.ndarray, ev: Evidence) -> None:
    x0, y0, x1, y1 = _work_box(a, b, transform)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    moved = transform.copy()
    moved[:, 2] -= (x0, y0)  # warp straight into the box
    size = (x1 - x0, y1 - y0)
    warped = cv2.warpAffine(b.rgb, moved, size, flags=cv2.INTER_LINEAR, borderValue=b.background)
    inside = cv2.warpAffine(_ones(b.rgb.shape[:2]), moved, size, flags=cv2.INTER_NEAREST, borderValue=0) > 0
    mask_a = a.garment[y0:y1, x0:x1]
    mask_b = _garment_mask(warped, b.background)
    garment = (mask_a | mask_b) & inside
    if np.count_nonzero(garment) < 50:
        return
    grey_a = a.grey[y0:y1, x0:x1]
    grey_b = cv2.cvtColor(warped, cv2.COLOR_RGB2GRAY)
    # Agreement is taken over either garment, so a different outline counts against the pair: a
    # brightness/contrast fit of b onto a, then the share of pixels that agree.
    da, db = _centred(grey_a[garment]), _centred(grey_b[garment])
    fitted = db * (da.std() / (db.std() + 1e-6))
    ev.agree = float((np.abs(da - fitted) < AGREE_DELTA).mean())
    # Structure and colour are compared where both photos show garment. Over either garment, a caption or
    # badge laid on the background of one photo dominated the correlation (it fell below zero for exact
    # copies); on the garment itself the two photos still have to match.
    both = mask_a & mask_b & inside
    sel = both if np.count_nonzero(both) >= 50 else garment
    ca, cb = _centred(grey_a[sel]), _centred(grey_b[sel])
    ev.ncc = float((ca * cb).sum() / (np.sqrt((ca * ca).sum() * (cb * cb).sum()) + 1e-6))
    box_a = np.ascontiguousarray(a.rgb[y0:y1, x0:x1])
    lab_a = _lab_of(box_a, sel)
    lab_b = _lab_of(warped, sel)
    chroma = np.hypot(lab_a[:, 1].astype(np.float32) - lab_b[:, 1], lab_a[:, 2].astype(np.float32) - lab_b[:, 2])
    ev.chroma = _median(chroma)
    ev.brightness = _median_u8(lab_b[:, 0]) - _median_u8(lab_a[:, 0])
    ev.lightness = abs(ev.brightness)
    ev.background = math.dist(a.background, b.background)
    # The local map waits until verify() has chosen among its alignments (mirrored, stretched): only the kept
    # one is measured. A private attribute, so never stored.
    ev.__dict__["_aligned"] = (box_a, warped, both)


def _local_difference(rgb_a: np.ndarray, rgb_b: np.ndarray, both: np.ndarray) -> tuple[int, float, float]:
    """(garment cells compared, share of them whose colour one tone change cannot explain, share of them in solid
    blocks of strong difference), over the cells that are at least half garment in both aligned pictures; no
    cells when too few.

    Cells are compared by their mean colour: an average over 8 x 8 pixels barely moves when an edge is a pixel
    off or a picture was re-encoded, while another garment changes it. A garment too small or thin to fill
    FINE_BELOW such cells (sunglasses, a belt) is split into 4 px cells instead. The tone change is fitted over all
    cells at once, so it can only be a global edit. Blocks (2 x 2 cells or more) separate a swapped garment part
    from the thin slivers a slight misalignment leaves along edges.
    """
    cells = _cells(rgb_a, rgb_b, both, CELL)
    if cells is None or np.count_nonzero(cells[0]) < FINE_BELOW:
        cells = _cells(rgb_a, rgb_b, both, CELL // 2) or cells
    if cells is None or np.count_nonzero(cells[0]) < MIN_CELLS:
        return 0, 0.0, 0.0
    valid, mean_a, mean_b, weights = cells
    residual = np.linalg.norm(mean_a - _tone_fitted(mean_b, mean_a, weights), axis=1)
    differ = float(np.mean(residual > DIFFER_DELTA))
    strong = np.zeros(valid.shape, np.uint8)
    strong[valid] = residual > BLOCK_DELTA
    blocks = cv2.morphologyEx(strong, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    return len(residual), differ, float(np.count_nonzero(blocks) / len(residual))


def _cells(rgb_a: np.ndarray, rgb_b: np.ndarray, both: np.ndarray, cell: int):
    """(cells at least half garment in both, each one's mean colour in a and in b, its garment share), or None."""
    rows, cols = both.shape[0] // cell, both.shape[1] // cell
    if rows < 2 or cols < 2:
        return None
    h, w = rows * cell, cols * cell
    mask = both[:h, :w].view(np.uint8)
    # Cell averages by OpenCV's area resize, in uint8: rounding moves a mean by under 1, against limits of 12+.
    share = cv2.resize(mask * np.uint8(255), (cols, rows), interpolation=cv2.INTER_AREA)  # garment share, 0..255
    valid = share >= 128
    weights = share[valid].astype(np.float32) / 255
    means = [cv2.resize(cv2.bitwise_and(rgb[:h, :w], rgb[:h, :w], mask=mask), (cols, rows),
                        interpolation=cv2.INTER_AREA)[valid] / weights[:, None] for rgb in (rgb_a, rgb_b)]
    return valid, means[0], means[1], weights


def _tone_fitted(source: np.ndarray, target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """`source` colours (N x 3) after the tone change that brings them closest to `target` (weighted least
    squares), its gain and saturation kept within TONE_GAIN and TONE_SATURATION, clipped to 0..255 as an
    editor's output is."""
    grey = source.mean(axis=1)
    w = weights.astype(np.float64)
    colour_sq = w @ (source * source).sum(axis=1)
    grey_sq, grey_sum, total = 3 * (w @ (grey * grey)), 3 * (w @ grey), 3 * w.sum()
    # The normal equations of target ~ coloured * source + greyed * grey + offset, over every cell and channel
    # (sum over channels of a cell's colour is 3 * its grey, which fills most of the matrix).
    normal = np.array([[colour_sq, grey_sq, grey_sum], [grey_sq, grey_sq, grey_sum], [grey_sum, grey_sum, total]])
    right = np.array([w @ (source * target).sum(axis=1), w @ (grey * target.sum(axis=1)), w @ target.sum(axis=1)])
    try:
        coloured, greyed, offset = np.linalg.solve(normal, right)
    except np.linalg.LinAlgError:  # one flat colour: any gain fits; keep the picture as it is
        coloured, greyed, offset = 1.0, 0.0, 0.0
    grey = grey[:, np.newaxis]
    gain = coloured + greyed
    saturation = coloured / gain if abs(gain) > 1e-6 else 1.0
    if not (TONE_GAIN[0] <= gain <= TONE_GAIN[1] and TONE_SATURATION[0] <= saturation <= TONE_SATURATION[1]):
        gain = float(np.clip(gain, *TONE_GAIN))
        saturation = float(np.clip(saturation, *TONE_SATURATION))
        toned = gain * (saturation * source + (1 - saturation) * grey)
        offset = float(np.average((target - toned).mean(axis=1), weights=weights))
    else:
        toned = gain * (saturation * source + (1 - saturation) * grey)
    return np.clip(toned + offset, 0, 255)


def _compare_at_smaller(a: Prepared, b: Prepared, transform: np.ndarray, ev: Evidence) -> None:
    """Compare the pixels at the resolution of the smaller picture, the larger one shrunk to it (anti-aliased).

    Warping a thumbnail up to its original's size blurs it, and warping a large picture down without
    anti-aliasing adds noise; either way an exact copy lost correlation for detail one photo never had.
    """
    if ev.scale > SHRINK_FROM:  # b is the smaller: shrink a to it and compare in b's frame
        small, to_a = _shrunk(a, 1.0 / ev.scale)
        _compare(b, small, (_homogeneous(cv2.invertAffineTransform(transform)) @ to_a)[:2], ev)
        ev.brightness = -ev.brightness  # measured with the two pictures' roles swapped
    elif ev.scale < 1.0 / SHRINK_FROM:  # a is the smaller: shrink b
        small, to_b = _shrunk(b, ev.scale)
        _compare(a, small, (_homogeneous(transform) @ to_b)[:2], ev)
    else:
        _compare(a, b, transform, ev)


def _shrunk(p: Prepared, factor: float) -> tuple[Prepared, np.ndarray]:
    """p's pixels scaled by `factor` (< 1) and the 3x3 map from the shrunk pixels back to p's."""
    h, w = p.rgb.shape[:2]
    size = (max(8, round(w * factor)), max(8, round(h * factor)))
    small = Prepared(cv2.resize(p.rgb, size, interpolation=cv2.INTER_AREA), keypoints=False)
    small.__dict__["background"] = p.background  # the border colour does not change with size
    return small, np.diag([w / size[0], h / size[1], 1.0])


def _homogeneous(affine: np.ndarray) -> np.ndarray:
    return np.vstack([affine, [0.0, 0.0, 1.0]])


def _centred(values: np.ndarray) -> np.ndarray:
    values = values.astype(np.float32)
    return values - values.mean()


@lru_cache(maxsize=64)
def _ones(shape: tuple) -> np.ndarray:
    return np.ones(shape, np.uint8)


def verify(a: Prepared, b: Prepared, try_mirror: bool = True, compare_from: int = 0) -> Evidence:
    """Evidence that b shows the same photo as a (possibly cropped, padded, mirrored, rotated, stretched,
    re-toned).

    `try_mirror=False` skips the mirrored attempt (the caller knows the pair cannot be a mirror copy).
    Pixels are compared only when at least `compare_from` details match; otherwise `compared` stays False.
    """
    matched: dict = {}  # side -> its matches with a, made once however many fits use them

    def matches(side: Prepared):
        if side not in matched:
            matched[side] = _matches(a, side)
        return matched[side]

    inliers, transform = _fit_similarity(matches(b))
    mirrored, mirror_match = False, None
    if try_mirror and inliers < MIRROR_TRY_BELOW:
        mirror_match = _fit_similarity(matches(b.mirrored()))
        if mirror_match[0] > inliers:
            (inliers, transform), mirrored = mirror_match, True
    ev = _evidence(a, b.mirrored() if mirrored else b, inliers, transform, mirrored, compare_from)
    if try_mirror and not mirrored and ev.compared and min(ev.ncc, ev.agree) < MIRROR_RECHECK_BELOW:
        # A symmetric garment also matches its own mirror image, often with many details; when the direct
        # alignment leaves the pixels disagreeing, the mirrored one may be the true one.
        alt = _evidence(a, b.mirrored(), *(mirror_match or _fit_similarity(matches(b.mirrored()))), True,
                        compare_from)
        if alt.compared and alt.ncc + alt.agree > ev.ncc + ev.agree:
            ev = alt
    if ev.compared and min(ev.ncc, ev.agree) < STRETCH_RECHECK_BELOW:
        # A photo squeezed to another aspect ratio matches only a part of the garment under a similarity
        # transform; an affine one lays the whole of it over the original. It must also match clearly more
        # details: a look-alike (another colourway) already fits as well as it can, and the extra freedom
        # would only smooth its differences away.
        side = b.mirrored() if ev.mirrored else b
        inliers, transform = _fit_stretched(matches(side))
        if inliers >= STRETCH_GAIN * ev.inliers:
            alt = _evidence(a, side, inliers, transform, ev.mirrored, compare_from)
            if alt.compared and alt.ncc + alt.agree > ev.ncc + ev.agree:
                ev = alt
    aligned = ev.__dict__.pop("_aligned", None)
    if aligned is not None:
        ev.cells, ev.differ, ev.differ_block = _local_difference(*aligned)
    return ev


def _evidence(a: Prepared, b: Prepared, inliers: int, transform: Optional[np.ndarray], mirrored: bool,
              compare_from: int) -> Evidence:
    ev = Evidence(inliers=inliers, mirrored=mirrored)
    if transform is None:
        return ev
    ev.scale = float(np.sqrt(abs(np.linalg.det(transform[:, :2]))))
    ev.stretch = _axis_ratio(transform)
    ev.angle = math.degrees(math.atan2(transform[1, 0], transform[0, 0]))
    ev.frame = float(b.rgb.shape[0] * b.rgb.shape[1] * ev.scale ** 2 / (a.rgb.shape[0] * a.rgb.shape[1]))
    if inliers >= compare_from:
        ev.compared = True
        _compare_at_smaller(a, b, transform, ev)
    return ev
