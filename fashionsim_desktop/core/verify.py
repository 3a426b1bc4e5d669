"""Geometric and photometric verification of one candidate pair.

Global signals (embedding cosine, hashes) cannot tell a crop of a photo from the same garment in another
colour. So each candidate pair is checked the way a person would: find the same local details in both
photos (ORB keypoints), fit one similarity transform through them (RANSAC; the mirrored photo is tried
too), lay one photo over the other, and compare what is under the garment: structure (grey levels after a
brightness/contrast fit) and colour (Lab chroma, which a tone change barely moves but a colourway does).

Cost matters: every picture is in a few candidate pairs. Descriptor matching uses faiss's binary index (about
5x faster than OpenCV's brute-force matcher on 300 x 300 ORB descriptors), the pixel comparison is skipped
when too few details match for the pair to matter (`compare_from`), and the per-picture Lab copy and garment
mask are made only when a comparison needs them.
"""
from __future__ import annotations

from dataclasses import dataclass, asdict
from functools import cached_property, lru_cache
from typing import Optional

import cv2
import faiss
import numpy as np

cv2.setNumThreads(1)  # the pipeline already runs one worker per core
faiss.omp_set_num_threads(1)

_ORB = cv2.ORB_create(nfeatures=500, fastThreshold=8, edgeThreshold=15, patchSize=15)
_MATCHER = cv2.BFMatcher(cv2.NORM_HAMMING)
RATIO = 0.85
RANSAC_PIXELS = 4.0
MIRROR_TRY_BELOW = 60  # inliers: only try the mirrored photo when the direct match is not already convincing
BACKGROUND_DELTA = 25  # a pixel further than this from the border colour counts as garment
AGREE_DELTA = 25  # grey levels within this after the tone fit count as agreeing


@dataclass
class Evidence:
    inliers: int = 0
    mirrored: bool = False
    scale: float = 0.0
    ncc: float = 0.0  # grey-level correlation over the garment, after alignment
    agree: float = 0.0  # share of garment pixels that match after a brightness/contrast fit
    chroma: float = 99.0  # median Lab a/b distance over the garment (colourways are far apart)
    lightness: float = 99.0  # difference of median L over the garment
    compared: bool = False  # were the pixels compared (enough matching details)?

    def as_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


class Prepared:
    """An image's pixels and keypoints, computed once and reused for every pair it is in.

    Keypoints are made up front (every pair needs them); the Lab copy, the garment mask and the descriptor
    index only when first used.
    """

    def __init__(self, rgb: np.ndarray, grey: Optional[np.ndarray] = None):
        self.rgb = np.ascontiguousarray(rgb)
        self.grey = cv2.cvtColor(self.rgb, cv2.COLOR_RGB2GRAY) if grey is None else grey
        self.points, self.descriptors = _keypoints(self.grey)
        self._mirror: Optional[Prepared] = None

    @cached_property
    def background(self) -> tuple:
        return _border_colour(self.rgb)

    @cached_property
    def garment(self) -> np.ndarray:
        return _garment_mask(self.rgb, self.background)

    @cached_property
    def lab(self) -> np.ndarray:
        return cv2.cvtColor(self.rgb, cv2.COLOR_RGB2LAB)

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
    keypoints, descriptors = _ORB.detectAndCompute(grey, None)
    points = np.float32([k.pt for k in keypoints]) if keypoints else np.zeros((0, 2), np.float32)
    return points, descriptors


def _match(a: Prepared, b: Prepared):
    """(inlier count, 2x3 transform mapping b onto a) or (0, None)."""
    if a.descriptors is None or b.descriptors is None or len(a.descriptors) < 4 or len(b.descriptors) < 4:
        return 0, None
    distances, nearest = b.descriptor_index.search(a.descriptors, 2)
    good = distances[:, 0] < RATIO * distances[:, 1]  # Lowe's ratio test: the best match must stand out
    if good.sum() < 4:
        return 0, None
    src = b.points[nearest[good, 0]]
    dst = a.points[good]
    transform, inliers = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PIXELS, maxIters=500, confidence=0.99)
    if transform is None or inliers is None:
        return 0, None
    return int(inliers.sum()), transform


def _border_colour(rgb: np.ndarray) -> tuple:
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    return tuple(int(v) for v in np.median(border, axis=0))


@lru_cache(maxsize=64)
def _flat(shape: tuple, background: tuple) -> np.ndarray:
    """A picture of one colour: pictures and backgrounds repeat, so these are made once."""
    return np.full(shape, background, np.uint8)


def _garment_mask(rgb: np.ndarray, background: tuple) -> np.ndarray:
    r, g, b = cv2.split(cv2.absdiff(rgb, _flat(rgb.shape, background)))
    return cv2.max(cv2.max(r, g), b) > BACKGROUND_DELTA


@lru_cache(maxsize=64)
def _ones(shape: tuple) -> np.ndarray:
    return np.ones(shape, np.uint8)


def _compare(a: Prepared, b: Prepared, transform: np.ndarray, ev: Evidence) -> None:
    h, w = a.rgb.shape[:2]
    warped = cv2.warpAffine(b.rgb, transform, (w, h), flags=cv2.INTER_LINEAR, borderValue=b.background)
    inside = cv2.warpAffine(_ones(b.rgb.shape[:2]), transform, (w, h), flags=cv2.INTER_NEAREST, borderValue=0) > 0
    mask_b = _garment_mask(warped, b.background)
    garment = (a.garment | mask_b) & inside
    if np.count_nonzero(garment) < 50:
        return
    # Only the garment's bounding box matters from here on: crop once, then work on fewer pixels.
    x, y, bw, bh = cv2.boundingRect(garment.view(np.uint8))
    box = (slice(y, y + bh), slice(x, x + bw))
    garment, warped = garment[box], np.ascontiguousarray(warped[box])
    grey_a = a.grey[box][garment].astype(np.float32)
    grey_b = cv2.cvtColor(warped, cv2.COLOR_RGB2GRAY)[garment].astype(np.float32)
    da, db = grey_a - grey_a.mean(), grey_b - grey_b.mean()
    ev.ncc = float((da * db).sum() / (np.sqrt((da * da).sum() * (db * db).sum()) + 1e-6))
    # Brightness/contrast fit of b onto a, then the share of pixels that agree: robust to small overlays.
    fitted = db * (da.std() / (db.std() + 1e-6))
    ev.agree = float((np.abs(da - fitted) < AGREE_DELTA).mean())
    both = a.garment[box] & mask_b[box] & inside[box]
    sel = both if np.count_nonzero(both) >= 50 else garment
    lab_a = a.lab[box][sel].astype(np.float32)
    lab_b = cv2.cvtColor(warped, cv2.COLOR_RGB2LAB)[sel].astype(np.float32)
    ev.chroma = float(np.median(np.hypot(lab_a[:, 1] - lab_b[:, 1], lab_a[:, 2] - lab_b[:, 2])))
    ev.lightness = float(abs(np.median(lab_a[:, 0]) - np.median(lab_b[:, 0])))


def verify(a: Prepared, b: Prepared, try_mirror: bool = True, compare_from: int = 0) -> Evidence:
    """Evidence that b shows the same photo as a (possibly cropped, padded, mirrored, rotated, re-toned).

    `try_mirror=False` skips the mirrored attempt (the caller knows the pair cannot be a mirror copy).
    Pixels are compared only when at least `compare_from` details match; otherwise `compared` stays False.
    """
    ev = Evidence()
    inliers, transform = _match(a, b)
    used = b
    if try_mirror and inliers < MIRROR_TRY_BELOW:
        m_inliers, m_transform = _match(a, b.mirrored())
        if m_inliers > inliers:
            inliers, transform, used, ev.mirrored = m_inliers, m_transform, b.mirrored(), True
    ev.inliers = inliers
    if transform is None:
        return ev
    ev.scale = float(np.sqrt(abs(np.linalg.det(transform[:, :2]))))
    if inliers >= compare_from:
        ev.compared = True
        _compare(a, used, transform, ev)
    return ev
