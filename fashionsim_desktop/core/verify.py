"""Geometric and photometric verification of one candidate pair.

Global signals (embedding cosine, hashes) cannot tell a crop of a photo from the same garment in another
colour. So each candidate pair is checked the way a person would: find the same local details in both
photos (ORB keypoints), fit one similarity transform through them (RANSAC; the mirrored photo is tried
too), lay one photo over the other, and compare what is under the garment: structure (grey levels after a
brightness/contrast fit) and colour (Lab chroma, which a tone change barely moves but a colourway does).

What a picture needs for this is small and is computed once, while the picture is decoded for its
embedding: a `Sketch` (keypoints, descriptors and a small compare thumbnail). The pairs phase then
verifies from sketches without decoding any file, except to try a mirrored match.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, asdict
from functools import lru_cache
from typing import Optional

import cv2
import numpy as np
from PIL import Image

cv2.setNumThreads(1)  # the pipeline already runs one worker per core

# 300 keypoints over 5 pyramid levels (scale range 2x) separate duplicates from look-alikes as well as 500
# over 8 levels did, at 40% of the matching cost (models/README.md, "Speed").
_ORB = cv2.ORB_create(nfeatures=300, nlevels=5, fastThreshold=8, edgeThreshold=15, patchSize=15)
_MATCHER = cv2.BFMatcher(cv2.NORM_HAMMING)
RATIO = 0.85
RANSAC_PIXELS = 4.0
COMPARE_SIZE = 128  # long side of the thumbnails laid over each other (keypoints use the 256 working copy)
THUMB_QUALITY = 90
BACKGROUND_DELTA = 25  # a pixel further than this from the border colour counts as garment
AGREE_DELTA = 25  # grey levels within this after the tone fit count as agreeing
GRID = 4
COLOURED = 8.0  # Lab a/b length above which a pixel has a colour (not white, grey or black)
CELL_AGREE = 0.85


@dataclass
class Evidence:
    inliers: int = 0
    mirrored: bool = False
    scale: float = 0.0
    ncc: float = 0.0  # grey-level correlation over the garment, after alignment
    agree: float = 0.0  # share of garment pixels that match after a brightness/contrast fit
    chroma: float = 99.0  # median Lab a/b distance over the garment (colourways are far apart)
    lightness: float = 99.0  # difference of median L over the garment
    spread: float = 1.0  # share of the garment's grid cells with many disagreeing pixels (an overlay is local)
    compared: bool = False  # False: too few matching details for any pixel comparison to matter

    def as_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


# Names the sketch recipe (ORB settings, compare size); stored sketches of another recipe are made again.
SKETCHER = "orb300x5-c128-v1"


@dataclass
class Sketch:
    """What verification needs of one picture: stored in the catalogue, a few KB."""

    points: np.ndarray  # (n, 2) float32 keypoint positions in the working copy
    descriptors: np.ndarray  # (n, 32) uint8 ORB descriptors
    thumb_jpeg: bytes  # the working copy at COMPARE_SIZE
    work_width: int  # size of the working copy the points refer to
    work_height: int


def make_sketch(image: Image.Image) -> Sketch:
    """From the RGB working copy (long side 256) the features phase already holds."""
    rgb = np.asarray(image)
    points, descriptors = _keypoints(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    thumb = image.copy()
    thumb.thumbnail((COMPARE_SIZE, COMPARE_SIZE), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=THUMB_QUALITY, subsampling=0)  # full-resolution colour: chroma is evidence
    return Sketch(points, descriptors, buf.getvalue(), image.width, image.height)


def sketch_to_blobs(sketch: Sketch) -> dict:
    return {"sketcher": SKETCHER, "points": sketch.points.astype(np.float16).tobytes(), "descriptors": sketch.descriptors.tobytes(),
            "thumb": sketch.thumb_jpeg, "work_width": sketch.work_width, "work_height": sketch.work_height}


def sketch_from_blobs(row: dict) -> Sketch:
    points = np.frombuffer(row["points"], np.float16).astype(np.float32).reshape(-1, 2)
    descriptors = np.frombuffer(row["descriptors"], np.uint8).reshape(-1, 32)
    return Sketch(points, descriptors, row["thumb"], row["work_width"], row["work_height"])


class Prepared:
    """A picture ready for verification: keypoints plus the compare thumbnail in the forms the checks use."""

    __slots__ = ("points", "descriptors", "rgb", "grey", "lab", "background", "garment", "factor", "cells",
                 "_mirror", "_load_work")

    def __init__(self, sketch: Sketch, load_work=None):
        """`load_work()` returns the RGB working copy again (only needed to try a mirrored match)."""
        self.points, self.descriptors = sketch.points, sketch.descriptors
        rgb = np.asarray(Image.open(io.BytesIO(sketch.thumb_jpeg)).convert("RGB"))
        self._set_pixels(rgb, rgb.shape[1] / sketch.work_width)
        self._mirror: Optional[Prepared] = None
        self._load_work = load_work

    @classmethod
    def from_image(cls, image: Image.Image) -> "Prepared":
        return cls(make_sketch(image), load_work=lambda: image)

    def _set_pixels(self, rgb: np.ndarray, factor: float) -> None:
        self.rgb = np.ascontiguousarray(rgb)
        self.factor = factor  # compare thumbnail pixels per working-copy pixel
        self.grey = cv2.cvtColor(self.rgb, cv2.COLOR_RGB2GRAY)
        self.lab = cv2.cvtColor(self.rgb, cv2.COLOR_RGB2LAB)
        self.background = _border_colour(self.rgb)
        self.garment = _garment_mask(self.rgb, self.background)
        h, w = self.grey.shape
        rows, cols = np.mgrid[0:h, 0:w]
        self.cells = (rows * GRID // h) * GRID + cols * GRID // w  # which grid cell each pixel is in

    def mirrored(self) -> Optional["Prepared"]:
        """The left-right mirror image, or None when the working copy cannot be had again.

        Keypoints are detected anew on the mirrored working copy (ORB descriptors are not mirror-symmetric)."""
        if self._mirror is None and self._load_work is not None:
            work = self._load_work()
            if work is None:
                return None
            grey = np.ascontiguousarray(cv2.cvtColor(np.asarray(work), cv2.COLOR_RGB2GRAY)[:, ::-1])
            mirror = Prepared.__new__(Prepared)
            mirror.points, mirror.descriptors = _keypoints(grey)
            mirror.rgb = np.ascontiguousarray(self.rgb[:, ::-1])
            mirror.factor = self.factor
            mirror.grey = np.ascontiguousarray(self.grey[:, ::-1])
            mirror.lab = np.ascontiguousarray(self.lab[:, ::-1])
            mirror.background = self.background
            mirror.garment = np.ascontiguousarray(self.garment[:, ::-1])
            mirror.cells = self.cells
            mirror._mirror, mirror._load_work = self, None
            self._mirror = mirror
        return self._mirror


def _keypoints(grey: np.ndarray):
    keypoints, descriptors = _ORB.detectAndCompute(grey, None)
    if not keypoints or descriptors is None:
        return np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8)
    return np.float32([k.pt for k in keypoints]), descriptors


def _match(a: Prepared, b: Prepared):
    """(inlier count, 2x3 transform mapping b onto a in working-copy pixels) or (0, None)."""
    if len(a.descriptors) < 4 or len(b.descriptors) < 4:
        return 0, None
    pairs = _MATCHER.knnMatch(a.descriptors, b.descriptors, k=2)
    good = [m[0] for m in pairs if len(m) == 2 and m[0].distance < RATIO * m[1].distance]
    if len(good) < 4:
        return 0, None
    src = b.points[[m.trainIdx for m in good]]
    dst = a.points[[m.queryIdx for m in good]]
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


def _compare(a: Prepared, b: Prepared, transform: np.ndarray, ev: Evidence) -> None:
    # The transform maps b's working copy onto a's; restate it between the two compare thumbnails.
    t = transform.astype(np.float64).copy()
    t[:, :2] *= a.factor / b.factor
    t[:, 2] *= a.factor
    h, w = a.rgb.shape[:2]
    warped = cv2.warpAffine(b.rgb, t, (w, h), flags=cv2.INTER_LINEAR, borderValue=b.background)
    inside = cv2.warpAffine(np.ones(b.rgb.shape[:2], np.uint8), t, (w, h),
                            flags=cv2.INTER_NEAREST, borderValue=0) > 0
    mask_b = _garment_mask(warped, b.background)
    garment = (a.garment | mask_b) & inside
    if np.count_nonzero(garment) < 30:
        return
    ev.compared = True
    warped_grey = cv2.cvtColor(warped, cv2.COLOR_RGB2GRAY)
    grey_a = a.grey[garment].astype(np.float32)
    grey_b = warped_grey[garment].astype(np.float32)
    da, db = grey_a - grey_a.mean(), grey_b - grey_b.mean()
    ev.ncc = float((da * db).sum() / (np.sqrt((da * da).sum() * (db * db).sum()) + 1e-6))
    # Brightness/contrast fit of b onto a, then the share of pixels that agree. The fit uses medians and
    # inter-quartile ranges over what is garment in both, so a sticker or a text overlay cannot skew it.
    both = a.garment & mask_b & inside
    fit = both if np.count_nonzero(both) >= 30 else garment
    qa = np.percentile(a.grey[fit], (25, 50, 75))
    qb = np.percentile(warped_grey[fit], (25, 50, 75))
    gain = (qa[2] - qa[0]) / (qb[2] - qb[0]) if qb[2] - qb[0] > 1 and qa[2] - qa[0] > 1 else 1.0
    fitted = (grey_b - qb[1]) * gain + qa[1]
    agrees = np.abs(grey_a - fitted) < AGREE_DELTA
    ev.agree = float(agrees.mean())
    ev.spread = _spread(a.cells[garment], agrees)
    sel = fit
    lab_a = a.lab[sel].astype(np.float32)
    lab_b = cv2.cvtColor(warped, cv2.COLOR_RGB2LAB)[sel].astype(np.float32)
    ab_a, ab_b = lab_a[:, 1:] - 128.0, lab_b[:, 1:] - 128.0
    distance = np.linalg.norm(ab_a - ab_b, axis=1)
    ev.chroma = float(np.median(distance))
    # Where either photo is coloured: a gold vs silver trim on a white card is a colourway even though most
    # of the "garment" (the card) is the same in both.
    coloured = (np.linalg.norm(ab_a, axis=1) > COLOURED) | (np.linalg.norm(ab_b, axis=1) > COLOURED)
    if coloured.sum() >= max(20, 0.02 * len(distance)):
        ev.chroma = max(ev.chroma, float(np.median(distance[coloured])))
    ev.lightness = float(abs(np.median(lab_a[:, 0]) - np.median(lab_b[:, 0])))


def _spread(cell: np.ndarray, agrees: np.ndarray) -> float:
    """Share of GRID x GRID cells (those holding garment) where fewer than CELL_AGREE of the pixels agree.

    `cell` and `agrees` are per garment pixel. A text overlay, a logo or a watermark disagrees in one or two
    cells; another print or cut disagrees all over.
    """
    counts = np.bincount(cell, minlength=GRID * GRID)
    agreeing = np.bincount(cell, weights=agrees, minlength=GRID * GRID)
    used = counts >= max(8, len(cell) // (4 * GRID * GRID))
    if not used.any():
        return 1.0
    return float(((agreeing[used] / counts[used]) < CELL_AGREE).mean())


def verify(a: Prepared, b: Prepared, try_mirror: bool = True, mirror_below: int = 60,
           compare_from: int = 0) -> Evidence:
    """Evidence that b shows the same photo as a (possibly cropped, padded, mirrored, rotated, re-toned).

    `try_mirror=False` skips the mirrored attempt (the caller knows the pair cannot be a mirror copy); it is
    also skipped when the direct match already has `mirror_below` inliers. Pixels are compared only when
    the match has at least `compare_from` inliers: below that no comparison could make the pair likely.
    """
    ev = Evidence()
    inliers, transform = _match(a, b)
    used = b
    if try_mirror and inliers < mirror_below:
        mirror = b.mirrored()
        if mirror is not None:
            m_inliers, m_transform = _match(a, mirror)
            if m_inliers > inliers:
                inliers, transform, used, ev.mirrored = m_inliers, m_transform, mirror, True
    ev.inliers = inliers
    if transform is None:
        return ev
    ev.scale = float(np.sqrt(abs(np.linalg.det(transform[:, :2]))))
    if inliers >= compare_from:
        _compare(a, used, transform, ev)
    return ev
