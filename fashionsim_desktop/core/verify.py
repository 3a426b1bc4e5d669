"""Geometric and photometric verification of one candidate pair.

Global signals (embedding cosine, hashes) cannot tell a crop of a photo from the same garment in another
colour. So each candidate pair is checked the way a person would: find the same local details in both
photos (ORB keypoints), fit one similarity transform through them (RANSAC; the mirrored photo is tried
too, and a stretched affine fit when the pixels still disagree), lay one photo over the other at the smaller
photo's resolution, and compare what is under the garment: structure (grey levels after a brightness/contrast
fit) and colour (Lab chroma, which a tone change barely moves but a colourway does).

Cost matters: every picture is in a few candidate pairs. Descriptor matching uses faiss's binary index (about
5x faster than OpenCV's brute-force matcher on 300 x 300 ORB descriptors), the pixel comparison is skipped
when too few details match for the pair to matter (`compare_from`), and a comparison converts to Lab only
the pixels it looks at, inside the box that holds both garments.
"""
from __future__ import annotations

from dataclasses import dataclass, asdict
from functools import cached_property, lru_cache
from typing import Optional

import cv2
import faiss
import numpy as np

from .imaging import WORK_SIZE

cv2.setNumThreads(1)  # the pipeline already runs one worker per core
faiss.omp_set_num_threads(1)

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

    def as_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


class Prepared:
    """An image's pixels and keypoints, computed once and reused for every pair it is in.

    Keypoints are made up front (every pair needs them); the garment mask and the descriptor index only
    when first used.
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

    @cached_property
    def descriptor_index(self) -> "faiss.IndexBinaryFlat":
        index = faiss.IndexBinaryFlat(self.descriptors.shape[1] * 8)
        index.add(self.descriptors)
        return index

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
    distances, nearest = b.descriptor_index.search(a.descriptors, 2)
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
    lab_a = _lab_of(np.ascontiguousarray(a.rgb[y0:y1, x0:x1]), sel)
    lab_b = _lab_of(warped, sel)
    chroma = np.hypot(lab_a[:, 1].astype(np.float32) - lab_b[:, 1], lab_a[:, 2].astype(np.float32) - lab_b[:, 2])
    ev.chroma = _median(chroma)
    ev.lightness = abs(_median_u8(lab_a[:, 0]) - _median_u8(lab_b[:, 0]))


def _compare_at_smaller(a: Prepared, b: Prepared, transform: np.ndarray, ev: Evidence) -> None:
    """Compare the pixels at the resolution of the smaller picture, the larger one shrunk to it (anti-aliased).

    Warping a thumbnail up to its original's size blurs it, and warping a large picture down without
    anti-aliasing adds noise; either way an exact copy lost correlation for detail one photo never had.
    """
    if ev.scale > SHRINK_FROM:  # b is the smaller: shrink a to it and compare in b's frame
        small, to_a = _shrunk(a, 1.0 / ev.scale)
        _compare(b, small, (_homogeneous(cv2.invertAffineTransform(transform)) @ to_a)[:2], ev)
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
    return ev


def _evidence(a: Prepared, b: Prepared, inliers: int, transform: Optional[np.ndarray], mirrored: bool,
              compare_from: int) -> Evidence:
    ev = Evidence(inliers=inliers, mirrored=mirrored)
    if transform is None:
        return ev
    ev.scale = float(np.sqrt(abs(np.linalg.det(transform[:, :2]))))
    if inliers >= compare_from:
        ev.compared = True
        _compare_at_smaller(a, b, transform, ev)
    return ev
