"""The keeper of a merge group: one policy for the review, the groups, the export and the command line.

The idea is dupeGuru's "prioritize" dialog: small criteria in one registry, put in order by the curator; the
first criterion that tells the pictures apart decides, the next ones only break its ties. Criteria here compare
two pictures at a time (whether one is an edited copy of the other is a question about a pair, not a property
of one file); in a larger group every picture another one beats is out, criterion after criterion.

Which side of a pair is the edited copy is measured on the two files, decoded when the keeper is asked for
(groups are small; tens of milliseconds a pair for packshots, cached by content):

- **Provenance from JPEG compression.** A JPEG's pixels lie on the grid of its own quantisation table. A copy
  made from it without resampling (mirrored, cropped, padded, re-toned, tinted, an overlay added, saved as PNG
  or WebP, re-saved finer) still carries that grid wherever its pixels were not repainted; the original does
  not carry the copy's. This tells the direction even for a plain mirror image, where nothing in the picture
  itself says which way round is right.
- **What the edits leave.** A crop cuts the garment at its frame; padding adds a flat border; an upscaled copy
  is explained by its smaller twin scaled up better than the twin is by it scaled down; a rotated copy is
  softer than its source; a tinted background is no longer neutral; an overlay adds high-contrast strokes only
  one picture has; a heavy re-encode has the coarser table. Each is a vote; the provenance test, when it can be
  made, wins.

The measures compare the two pictures with each other (which direction explains the pair better), so they do
not rest on thresholds fitted to one set of pictures: see README "Keeper policy" and `python -m benchmarks.keeper`.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING, Callable, Iterable, Optional

import cv2
import numpy as np
from PIL import Image, ImageOps

from .imaging import DecodeError, read_image_file, to_rgb_on_white
from .verify import Prepared, _fit_similarity, _matches  # the verifier's own matching, reused as is

if TYPE_CHECKING:
    from .review import Member
    from ..store.catalog import Catalog

POLICY_KEY = "keeper_policy"
DEFAULT_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF")
FORMAT_ALIASES = {"JPG": "JPEG", "TIF": "TIFF"}


# -- the policy ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Policy:
    """Criteria in the curator's order (a criterion left out is not used) and their settings."""
    order: tuple[str, ...] = ("reference", "original", "resolution", "product_data", "formats", "oldest", "largest")
    reference_folders: tuple[str, ...] = ()  # relative to the indexed folder, or absolute
    formats: tuple[str, ...] = DEFAULT_FORMATS

    def to_json(self) -> str:
        return json.dumps({"order": list(self.order), "reference_folders": list(self.reference_folders),
                           "formats": list(self.formats)})

    @classmethod
    def from_json(cls, text: Optional[str]) -> "Policy":
        """The stored policy; anything unreadable or unknown falls back to the default, never fails."""
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        default = cls()
        order = tuple(n for n in data.get("order", default.order) if n in CRITERIA)
        folders = tuple(str(f) for f in data.get("reference_folders", ()))
        formats = tuple(normal_format(f) for f in data.get("formats", default.formats) if isinstance(f, str))
        return cls(order if "order" in data else default.order, folders, formats or default.formats)


def normal_format(name: str) -> str:
    name = name.strip().upper().lstrip(".")
    return FORMAT_ALIASES.get(name, name)


def load_policy(catalog: "Catalog") -> Policy:
    return Policy.from_json(catalog.get_meta(POLICY_KEY))


def save_policy(catalog: "Catalog", policy: Policy) -> None:
    unknown = [n for n in policy.order if n not in CRITERIA]
    if unknown:
        raise ValueError(f"unknown keeper criteria: {', '.join(unknown)} (known: {', '.join(CRITERIA)})")
    catalog.set_meta(POLICY_KEY, policy.to_json())


# -- what one picture shows ------------------------------------------------------------------------
ALIGN_SIDE = 640  # long side the pair is aligned at (ORB); the pixel tests run at full resolution
SPECTRUM_SIDE = 768  # the detail spectrum is taken on a crop of at most this size (a crop keeps the detail)


class Picture:
    """One file decoded at full size: its luma (exactly as its JPEG decoder made it), the JPEG's luma
    quantisation table (natural order) when it has one, and a small colour copy for alignment."""

    def __init__(self, data: bytes):
        im = Image.open(io.BytesIO(data))
        self.format = im.format or ""
        orientation = im.getexif().get(0x0112, 1)
        tables = getattr(im, "quantization", None)
        self.table: Optional[np.ndarray] = None
        self.luma: Optional[np.ndarray] = None
        if self.format == "JPEG" and tables and orientation == 1 and im.mode in ("RGB", "L"):
            # The grid is in the luma exactly as decoded: take it before any colour conversion rounds it.
            self.table = np.array(tables[0], np.float32).reshape(8, 8)
            if im.mode == "RGB":
                im.draft("YCbCr", im.size)
            im.load()
            self.luma = np.asarray(im, np.float32)[..., 0] if im.mode == "YCbCr" else np.asarray(im, np.float32)
        im = ImageOps.exif_transpose(im) if orientation != 1 else im
        rgb = np.asarray(to_rgb_on_white(im))  # not kept: the full-size luma and a small copy are all that is used
        if self.luma is None:
            self.luma = rgb.astype(np.float32) @ np.float32([0.299, 0.587, 0.114])  # JPEG's own luma
        self.height, self.width = rgb.shape[:2]
        factor = min(1.0, ALIGN_SIDE / max(self.width, self.height))
        small = rgb if factor == 1.0 else cv2.resize(
            rgb, (max(8, round(self.width * factor)), max(8, round(self.height * factor))),
            interpolation=cv2.INTER_AREA)
        self.align_factor = small.shape[1] / self.width
        self.prepared = Prepared(small)
        self._spectrum: dict[float, float] = {}

    @property
    def quality(self) -> Optional[int]:
        """The IJG quality whose luma table is closest in size to this JPEG's (any encoder's table maps to one)."""
        if self.table is None:
            return None
        scale = 100.0 * float(self.table.sum()) / float(IJG_LUMA.sum())
        quality = (200.0 - scale) / 2.0 if scale <= 100.0 else 5000.0 / scale
        return int(round(min(100.0, max(1.0, quality))))

    def top_band(self, r: float) -> float:
        """Power in the top band of the spectrum (above 1/r of Nyquist) over the band just below it (1/r^2 to
        1/r). A photo at its native resolution has detail in both (natural images lose power smoothly with
        frequency); a copy upscaled by r has next to nothing above its source's Nyquist."""
        r = round(r, 2)
        if r not in self._spectrum:
            y = self.luma
            h, w = y.shape
            ch, cw = min(h, SPECTRUM_SIDE), min(w, SPECTRUM_SIDE)
            y = y[(h - ch) // 2:(h - ch) // 2 + ch, (w - cw) // 2:(w - cw) // 2 + cw]
            y = (y - y.mean()) * np.outer(np.hanning(ch), np.hanning(cw)).astype(np.float32)
            power = np.abs(np.fft.rfft2(y)) ** 2
            f = np.maximum(np.abs(np.fft.fftfreq(ch))[:, None], np.fft.rfftfreq(cw)[None, :]) * 2  # 1 = Nyquist
            top, below = power[(f > 1 / r) & (f <= 1)], power[(f > 1 / r ** 2) & (f <= 1 / r)]
            self._spectrum[r] = float(top.mean() / (below.mean() + 1e-9)) if top.size and below.size else 1.0
        return self._spectrum[r]

    def background_chroma(self) -> float:
        """How far the border colour is from a neutral grey or white (max - min channel)."""
        colour = self.prepared.background  # the verifier's border colour (at the alignment size)
        return float(max(colour) - min(colour))


# The IJG (libjpeg) base luma table, natural order: qualities are named against it.
IJG_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.float32).reshape(8, 8)


def _dct_matrix() -> np.ndarray:
    k, n = np.arange(8)[:, None], np.arange(8)[None, :]
    d = np.sqrt(2 / 8) * np.cos((2 * n + 1) * k * np.pi / 16)
    d[0] /= np.sqrt(2)
    return d.astype(np.float32)


DCT8 = _dct_matrix()


# -- what tells two pictures apart -----------------------------------------------------------------
SAME_SCALE = 1.15  # sizes closer than this are "the same size" (a crop or pad changes the size a little)
EXACT_SCALE, EXACT_ANGLE = 0.02, 1.0  # an alignment this close to 1:1 is tried pixel for pixel
PROVENANCE_MIN = 0.25  # grid fit (mean cosine, or 2 r - 1) of a copy's pixels on its source's grid
# On one 8x8 grid a copy's values are its source's re-quantised: a share r near 1 of them (0.72-0.99 on the tune
# half), against about the step ratio (at most 0.5) for a picture not made from the other; `made` is 2 r - 1,
# and its floor r = 0.7 lies between the two.
SAME_GRID_MIN = 0.4
# A coarser copy's values are exactly its source's re-quantised (a share of 0.94-1 on the tune half); a sibling,
# saved coarser than the other from a master neither is, comes close (0.9 in one made to see): hence 0.95.
REQUANTISED = 0.95
PROVENANCE_COEFFICIENTS = 200  # fewer usable DCT coefficients than this tell nothing
UPSCALED_MARGIN = 1.1  # how clearly one direction of scaling must explain the pair better than the other
SOFTER_BELOW = 0.85  # the same at one size: the softer picture was resampled (rotated, warped)
QUALITY_GAP = 8  # JPEG qualities this far apart: the lower one is called re-encoded
TINT_GAP = 8  # background chroma (max - min channel) this much further from neutral: a tinted background
OVERLAY_DELTA = 40  # grey levels: where two aligned pictures differ this much, something was painted
OVERLAY_STROKES = 1.5  # ...and the side with this many times the edge energy there carries the overlay
FLAT = 3  # grey levels: a border this uniform was added (a photo's own background has noise and gradients)
MAX_BLOCKS = 4000  # DCT blocks sampled for the provenance test (a packshot has 3,000, a 12 MP photo 190,000)

ADJECTIVES = ("mirrored", "rotated", "cropped", "padded", "upscaled", "smaller", "resampled", "re-toned",
              "re-encoded")


@dataclass
class Comparison:
    """What was measured on a pair of pictures x, y (x = the lower sha256); index 0 is x, 1 is y."""
    aligned: bool = False
    mirrored: bool = False
    scale: float = 1.0  # x's size over y's
    exact: bool = False  # the pixels line up one to one
    copy: Optional[int] = None  # which one is the edited copy, when it can be told
    told_by: str = ""  # "provenance" (the JPEG grid) or "traces" (what the edits left)
    upscaled: Optional[int] = None
    smaller: Optional[int] = None  # of a pair at different sizes, the reduced one (when neither is upscaled)
    words: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())  # what each side is, were it the copy

    def phrase(self, side: int) -> str:
        """Side `side` as the copy, in plain words: "a mirrored copy with a text overlay"."""
        words = self.words[side]
        adjectives = [w for w in ADJECTIVES if w in words]
        text = f"{'an' if adjectives[0][0] in 'aeiou' else 'a'} {', '.join(adjectives)} copy" if adjectives \
            else "a copy"
        if "overlay" in words:
            text += " with a text overlay"
        if "tinted" in words:
            text += " on a tinted background"
        formats = [w[len("format:"):] for w in words if w.startswith("format:")]
        if formats:
            text += f" saved as {formats[0]}"
        return "an edited copy" if text == "a copy" else text


class _Traces:
    """Votes for which side is the edited copy, and the words that describe each side as a copy."""

    def __init__(self):
        self.votes = [0, 0]
        self.words: tuple[list[str], list[str]] = ([], [])

    def vote(self, side: int, word: str = "", weight: int = 1) -> None:
        self.votes[side] += weight
        if word:
            self.words[side].append(word)

    def say(self, side: int, word: str) -> None:
        self.words[side].append(word)

    def said(self, *words: str) -> bool:
        return any(w in words for w in self.words[0] + self.words[1])


def compare(x: Picture, y: Picture) -> Comparison:
    """Which of two pictures of one photo is the edited copy, and what was done to it."""
    c, traces = Comparison(), _Traces()
    transform, mirrored = _align(x, y)
    shift = _exact_shift(x, y, _seeds(x, y, transform, mirrored))
    tone = None
    if shift is not None:
        mirrored, dx, dy = shift
        # y's column u shows at x's column dx + u, or dx + (width - 1 - u) mirrored: exact, unlike ORB's fit
        transform = np.array([[-1.0, 0, y.width - 1 + dx], [0, 1, dy]]) if mirrored else \
            np.array([[1.0, 0, dx], [0, 1, dy]])
        c.exact = True
        tone = _provenance(x, y, shift, c)
    if transform is not None:
        c.aligned, c.mirrored = True, mirrored
        linear = transform[:, :2] @ (np.diag([-1.0, 1.0]) if mirrored else np.eye(2))
        c.scale = math.sqrt(abs(np.linalg.det(linear)))
        rotated = abs(math.degrees(math.atan2(linear[1, 0], linear[0, 0]))) >= 1.0
        for side in (0, 1):
            traces.words[side].extend(["mirrored"] * mirrored + ["rotated"] * rotated)
        _frame_traces(x, y, transform, rotated, traces)
        if 1 / SAME_SCALE < c.scale < SAME_SCALE:
            if not rotated:  # a rotation's filled corners differ from the background like a painted shape
                _overlay_traces(x, y, transform, traces)
            if rotated or abs(c.scale - 1) > EXACT_SCALE:
                _softness_traces(x, y, traces)
    _size_traces(x, y, c, traces)
    _tint_traces(x, y, traces)
    _quality_traces(x, y, traces)
    if _retoned(tone):
        for side in (0, 1):
            traces.say(side, "re-toned")
    if x.format != y.format:
        for side, p in enumerate((x, y)):
            traces.say(side, f"format:{p.format}")
    if c.copy is None and traces.votes[0] != traces.votes[1]:
        c.copy, c.told_by = int(traces.votes[1] > traces.votes[0]), "traces"
    c.words = (tuple(traces.words[0]), tuple(traces.words[1]))
    return c


def _seeds(x: Picture, y: Picture, transform: Optional[np.ndarray], mirrored: bool) -> list:
    """Whole-pixel maps worth trying, (mirrored, dx, dy): from an alignment close to 1:1, or, for two pictures of
    one size that ORB could not align (a plain garment has few details), as they are and mirrored (most edits
    keep the size: re-encodes, tints, overlays, mirrors, tone changes)."""
    if transform is None:
        return [(False, 0, 0), (True, 0, 0)] if (x.width, x.height) == (y.width, y.height) else []
    linear = transform[:, :2] @ (np.diag([-1.0, 1.0]) if mirrored else np.eye(2))
    scale, angle = math.sqrt(abs(np.linalg.det(linear))), math.degrees(math.atan2(linear[1, 0], linear[0, 0]))
    if abs(scale - 1) > EXACT_SCALE or abs(angle) > EXACT_ANGLE:
        return []
    corner = transform @ np.array([y.width - 1.0 if mirrored else 0.0, 0.0, 1.0])
    return [(mirrored, round(corner[0]), round(corner[1]))]


def _provenance(x: Picture, y: Picture, shift, c: Comparison) -> Optional[tuple[float, float]]:
    """Sets c.copy when one picture carries the other's JPEG grid; returns the tone fit (gain, offset) of y on x."""
    mirrored, dx, dy = shift
    # Do the two JPEG grids coincide (the shift a whole number of blocks, a mirror mapping blocks onto blocks)?
    same_grid = dy % 8 == 0 and (dx + (y.width if mirrored else 0)) % 8 == 0
    on_x = _grid_fit(_moved(y, x, shift, into_x=True), x.luma, x.table, y.table, same_grid)  # y made from x?
    on_y = _grid_fit(_moved(x, y, shift, into_x=False), y.luma, y.table, x.table, same_grid)  # x made from y?

    def made(test: _GridTest, other: _GridTest) -> bool:
        # A finer copy carries the source's grid. A coarser copy is exactly the source re-quantised, and the
        # source is then not the copy re-quantised finer (its values fall between the copy's nearest steps).
        least = SAME_GRID_MIN if same_grid and x.table is not None and y.table is not None else PROVENANCE_MIN
        return (test.coefficients >= PROVENANCE_COEFFICIENTS and test.made >= least) or \
            (test.requantised is not None and test.requantised >= REQUANTISED and
             other.coefficients >= 20 and other.made <= 0.0)  # the coarse copy rounded most values to zero

    y_made, x_made = made(on_x, on_y), made(on_y, on_x)
    if y_made != x_made:
        c.copy, c.told_by = (1 if y_made else 0), "provenance"
    return on_x.tone


def _softness_traces(x: Picture, y: Picture, traces: _Traces) -> None:
    """A resampled copy (rotated, slightly rescaled) is softer than its source at the same size."""
    detail = (x.top_band(1.5), y.top_band(1.5))
    if min(detail) < SOFTER_BELOW * max(detail):
        softer = int(detail[1] < detail[0])
        traces.vote(softer, "" if "rotated" in traces.words[softer] else "resampled")


def _tint_traces(x: Picture, y: Picture, traces: _Traces) -> None:
    """A copy on a tinted background: its border colour is further from neutral than the other's."""
    if traces.said("rotated", "padded", "cropped"):
        return  # the border is then a fill colour or another part of the scene, not the same background
    chroma = (x.background_chroma(), y.background_chroma())
    if abs(chroma[0] - chroma[1]) >= TINT_GAP and min(chroma) <= TINT_GAP:
        traces.vote(int(chroma[1] > chroma[0]), "tinted")


def _quality_traces(x: Picture, y: Picture, traces: _Traces) -> None:
    """Words only: the copy with the much coarser JPEG table was re-encoded. (Which one was made from which is
    the provenance test's to say: a copy with added noise or blur, saved finer, looks like the source of a
    coarser picture by quality alone.)"""
    quality = (x.quality, y.quality)
    if None not in quality and abs(quality[0] - quality[1]) >= QUALITY_GAP:
        traces.say(int(quality[1] < quality[0]), "re-encoded")


def _retoned(tone: Optional[tuple[float, float]]) -> bool:
    """A brightness or contrast change that moves dark or light greys by more than a re-encode does."""
    return tone is not None and max(abs(tone[0] * v + tone[1] - v) for v in (64, 192)) > 10


def _align(x: Picture, y: Picture) -> tuple[Optional[np.ndarray], bool]:
    """(2x3 transform mapping y's full-size pixels onto x's, mirrored?) from ORB + RANSAC, or (None, False)."""
    best = (0, None, False)
    for mirrored in (False, True):
        side = y.prepared.mirrored() if mirrored else y.prepared
        inliers, t = _fit_similarity(_matches(x.prepared, side))
        if t is not None and inliers > best[0]:
            best = (inliers, t, mirrored)
    inliers, t, mirrored = best
    if t is None or inliers < 12:
        return None, False
    full = np.diag([1 / x.align_factor, 1 / x.align_factor, 1.0]) @ np.vstack([t, [0, 0, 1]])
    if mirrored:  # the mirrored copy's column u is column (width - 1 - u) of the picture
        full = full @ np.array([[-1.0, 0, y.prepared.rgb.shape[1] - 1], [0, 1, 0], [0, 0, 1]])
    return (full @ np.diag([y.align_factor, y.align_factor, 1.0]))[:2], mirrored


def _exact_shift(x: Picture, y: Picture, seeds: list):
    """(mirrored, dx, dy) such that x[r, c] shows y'[r - dy, c - dx] (y' = y, mirrored or not): among the
    whole-pixel shifts near the seeds, the one where x's textured pixels differ least from y' once brightness
    and contrast are matched (an overlay or a tinted background is then only a part that disagrees, where it
    could pull a correlation to a neighbouring shift); None when no shift makes most of them agree."""
    # Judged on the middle of x (a large photo need not be read whole to find a shift), within the alignment's
    # error: a pixel or two at the size it was made at, more once scaled up to a large photo.
    r0, c0, window = _middle(x.luma)
    textured = cv2.morphologyEx(window, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 8  # flat parts agree
    reach = 2 + math.ceil(0.5 / min(x.align_factor, y.align_factor))
    shifts = []
    for mirrored, cx, cy in seeds:
        ym = y.luma[:, ::-1] if mirrored else y.luma
        for dy in range(cy - reach, cy + reach + 1):
            for dx in range(cx - reach, cx + reach + 1):
                views = _overlap(window, ym, dx - c0, dy - r0)
                if views is not None:
                    where = _overlap(textured, ym, dx - c0, dy - r0)[0][::2, ::2]
                    shifts.append(((mirrored, dx, dy), views[0][::2, ::2][where], views[1][::2, ::2][where]))
    shifts = [s for s in shifts if len(s[1]) >= 250]
    if not shifts:
        return None
    # The tone is fitted once, at the shift that correlates best: a neighbouring shift changes it little.
    correlation = lambda a, b: np.corrcoef(a, b)[0, 1] if a.std() > 0 and b.std() > 0 else 0.0  # noqa: E731
    _, a, b = max(shifts, key=lambda s: correlation(s[1], s[2]))
    tone = _tone_fit(b, a)
    if tone is None:
        return None
    # The shift with the least error, each pixel's error capped (a painted pixel counts as one miss, whatever
    # its colour); kept when most pixels then agree.
    errors = [np.minimum(np.abs(a - (tone[0] * b + tone[1])), 12.0) for _, a, b in shifts]
    best = int(np.argmin([float(e.mean()) for e in errors]))
    return shifts[best][0] if float(np.mean(errors[best] < 12.0)) >= 0.5 else None


def _middle(a: np.ndarray, side: int = 768) -> tuple[int, int, np.ndarray]:
    """(first row, first column, view) of the middle of a picture, at most side x side, starting on the 8x8 grid."""
    r0, c0 = max(0, (a.shape[0] - side) // 2) // 8 * 8, max(0, (a.shape[1] - side) // 2) // 8 * 8
    return r0, c0, a[r0:r0 + side, c0:c0 + side]


def _overlap(a: np.ndarray, b: np.ndarray, dx: int, dy: int):
    """Views of a and b over their overlap when a[r, c] shows b[r - dy, c - dx]; None when it is tiny."""
    x0, y0 = max(0, dx), max(0, dy)
    x1, y1 = min(a.shape[1], b.shape[1] + dx), min(a.shape[0], b.shape[0] + dy)
    if x1 - x0 < 16 or y1 - y0 < 16:
        return None
    return a[y0:y1, x0:x1], b[y0 - dy:y1 - dy, x0 - dx:x1 - dx]


def _moved(source: Picture, target: Picture, shift, into_x: bool) -> np.ndarray:
    """source's luma laid into target's frame (NaN where it does not reach). `shift` maps y onto x."""
    mirrored, dx, dy = shift
    canvas = np.full(target.luma.shape, np.nan, np.float32)
    if into_x:  # target is x, source is y
        views = _overlap(canvas, source.luma[:, ::-1] if mirrored else source.luma, dx, dy)
        if views is not None:
            views[0][...] = views[1]
        return canvas
    views = _overlap(canvas, source.luma, -dx, -dy)  # in y's (mirrored) frame first
    if views is not None:
        views[0][...] = views[1]
    return np.ascontiguousarray(canvas[:, ::-1]) if mirrored else canvas


@dataclass
class _GridTest:
    """Whether the other picture was made from this one, read from this picture's JPEG grid."""
    made: float = 0.0  # near 1: made from this picture; near or below 0: nothing says so
    coefficients: int = 0
    requantised: Optional[float] = None  # share of the other's values that are this picture's, re-quantised
    tone: Optional[tuple[float, float]] = None  # (gain, offset) of the other on this one


def _grid_fit(moved: np.ndarray, own: np.ndarray, table: Optional[np.ndarray], other_table: Optional[np.ndarray],
              same_grid: bool = False) -> _GridTest:
    """Whether the other picture (`moved`: its pixels laid into this picture's frame) was made from this one,
    over the DCT coefficients this picture did not round to zero.

    Where the other's grid is at most half as coarse as this one's (or it has none): a copy made from this
    picture keeps its values close to this grid's steps (`made`: mean cosine of 2 pi value / step). When the
    other is a JPEG on the same 8x8 grid, its values are whole steps of its own table, which alone can line many
    of them up with this grid; then `made` is 2 r - 1, r being the share of its values that are exactly this
    picture's, re-quantised with its table (nearly all for a copy; about the step ratio otherwise).
    Where the other's grid is the coarser, on the same 8x8 grid: `requantised` is that share r again; a coarser
    re-encode of this picture has r close to 1, but so would this picture be a finer re-encode of the other's,
    which the test in the other direction tells."""
    test = _GridTest()
    r0, c0, own = _middle(own, 1024)  # plenty of blocks, whatever the photo's size
    moved = moved[r0:r0 + own.shape[0], c0:c0 + own.shape[1]]
    h, w = (own.shape[0] // 8) * 8, (own.shape[1] // 8) * 8
    if table is None or h == 0 or w == 0:
        return test
    own, moved = own[:h, :w], moved[:h, :w]
    usable = ~np.isnan(moved) & (own > 4) & (own < 251)
    other = np.where(usable, moved, 0.0).astype(np.float32)
    usable &= (other > 4) & (other < 251)  # clipped pixels are off any grid
    if np.count_nonzero(usable) < 1000:
        return test
    # A brightness/contrast change is undone first (on luma it is close to affine); pixels repainted by the
    # edit (an overlay, a tinted background) are left out of the fit, then out of the test.
    test.tone = _tone_fit(own[usable], other[usable])
    if test.tone is None:
        return test
    gain, offset = test.tone
    other = (other - offset) / gain
    blocks = lambda a: a.reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3)  # noqa: E731
    # Blocks the edit repainted (an overlay, a tinted background) are left out: repainting moves a block's mean
    # level or leaves strokes far off, while re-encoding noise, even a coarse re-encode's, averages out.
    difference = blocks(other - own)
    keep = blocks(usable).all(axis=(2, 3)) & (np.abs(difference.mean(axis=(2, 3))) <= 2) & \
        (np.abs(difference).max(axis=(2, 3)) <= OVERLAY_DELTA)
    rows, cols = np.nonzero(keep)
    if len(rows) > MAX_BLOCKS:
        pick = np.linspace(0, len(rows) - 1, MAX_BLOCKS).astype(int)
        rows, cols = rows[pick], cols[pick]
    if len(rows) == 0:
        return test
    own_c = DCT8 @ (blocks(own)[rows, cols] - 128.0) @ DCT8.T
    raw_c = DCT8 @ (blocks(np.where(usable, moved, 0.0))[rows, cols] - 128.0) @ DCT8.T  # the other's own values
    # The gain again, from the AC coefficients (the offset only moves the DC term): the levels fit above is only
    # as good as the band medians, which a coarse re-encode shifts. The median ratio over large coefficients,
    # where either picture's rounding is small beside the value (a quantiser rounds small values to zero, which
    # would bias a least-squares slope).
    steps = table if other_table is None else np.maximum(table, other_table)
    large = np.abs(own_c) >= 4 * steps
    large[:, 0, 0] = False
    if np.count_nonzero(large) >= 50:
        gain = float(np.median(raw_c[large] / own_c[large]))
    elif not _retoned(test.tone):
        gain = 1.0  # too little contrast to measure it: an edit that did not re-tone kept the levels exactly
    other_c = raw_c / gain
    nonzero = (np.round(own_c / table) != 0) & (table >= 3)
    nonzero[:, 0, 0] = False  # the DC term moves with any brightness change

    def requantised(where: np.ndarray) -> float:
        step = np.broadcast_to(other_table, where.shape)[where]
        return float(np.mean(np.round(raw_c[where] / step) == np.round(gain * own_c[where] / step)))

    finer = nonzero if other_table is None else nonzero & (other_table * 2 <= table)
    test.coefficients = int(np.count_nonzero(finer))
    if test.coefficients:
        if other_table is not None and same_grid:
            test.made = 2.0 * requantised(finer) - 1.0
        else:
            # Weighted by the step squared: the copy's own noise (its re-encode, a lossy WebP) is about the same
            # size at every frequency, so a coarse step shows whether a value sits on it far more clearly.
            weight = np.broadcast_to(table * table, finer.shape)[finer]
            fit = np.cos(2 * np.pi * (other_c / table)[finer])
            test.made = float((fit * weight).sum() / weight.sum())
    if other_table is not None and same_grid:
        coarser = (np.round(raw_c / other_table) != 0) & (other_table >= table * 2)
        coarser[:, 0, 0] = False
        if np.count_nonzero(coarser) >= PROVENANCE_COEFFICIENTS:
            test.requantised = requantised(coarser)
    return test


def _tone_fit(own: np.ndarray, other: np.ndarray) -> Optional[tuple[float, float]]:
    """(gain, offset) with other ~ gain * own + offset. The median of `other` is taken in each band of `own`
    levels, and the line is the one through two bands that most other bands agree with (then fitted to those
    bands): a large repainted area, such as a tinted background, is one band of levels and cannot pull the line
    off the rest of the picture, however many pixels it has."""
    step = max(1, own.size // 40000)  # a sample fits two numbers as well as every pixel
    own, other = own[::step], other[::step]
    bands = np.clip(own.astype(np.int32) // 16, 0, 15)
    counts = np.bincount(bands.ravel(), minlength=16)
    used = [b for b in range(16) if counts[b] >= 20]
    if len(used) < 2:
        return None  # one flat grey: no contrast to fit
    xs = np.array([np.median(own[bands == b]) for b in used])
    ys = np.array([np.median(other[bands == b]) for b in used])
    weight = counts[used].astype(np.float64)
    best, agree = None, (0, 0.0)
    for i, j in combinations(range(len(used)), 2):
        if xs[j] - xs[i] < 8:
            continue
        gain = (ys[j] - ys[i]) / (xs[j] - xs[i])
        close = np.abs(ys - (ys[i] + gain * (xs - xs[i]))) <= 3
        score = (int(np.count_nonzero(close)), float(weight[close].sum()))  # most bands, then most pixels
        if score > agree:
            best, agree = close, score
    if best is None or np.count_nonzero(best) < 2:
        return None
    gain, offset = np.polyfit(xs[best], ys[best], 1, w=np.sqrt(weight[best]))
    return (float(gain), float(offset)) if gain > 0.3 else None


def _frame_traces(x: Picture, y: Picture, transform: np.ndarray, rotated: bool, traces: _Traces) -> None:
    """A crop cuts the garment at its frame; padding (or a rotation's filled corners) adds a flat border."""
    inverse = cv2.invertAffineTransform(transform)
    y_in_x = _corners(y, transform)
    x_in_y = _corners(x, inverse)
    y_inside = _inside(y_in_x, x)
    x_inside = _inside(x_in_y, y)
    if y_inside == x_inside:
        return
    outer, inner, footprint = (0, 1, y_in_x) if y_inside else (1, 0, x_in_y)
    picture = (x, y)[outer]
    p = picture.prepared  # at the alignment size
    f = picture.align_factor
    shape = p.grey.shape
    inside = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(inside, np.round(footprint * f).astype(np.int32), 1)
    grown = cv2.dilate(inside, np.ones((7, 7), np.uint8))  # alignment slack: 3 px either way
    shrunk = cv2.erode(inside, np.ones((7, 7), np.uint8))
    extra = grown == 0
    if np.count_nonzero(extra) < 0.01 * extra.size:
        return
    # A crop cuts through the garment: just outside the smaller frame the larger one still shows garment. (Only
    # there: a frame line drawn along a padded border is garment-coloured too, but far from the photo's edge.)
    outside = (cv2.dilate(inside, np.ones((15, 15), np.uint8)) == 1) & extra
    if np.count_nonzero(p.garment & outside) >= 0.03 * max(1, np.count_nonzero(outside)):
        traces.vote(inner, "cropped")
        return
    grey = p.grey.astype(np.int16)
    border = grey[extra]
    ring = grey[(shrunk == 1) & (cv2.erode(shrunk, np.ones((11, 11), np.uint8)) == 0)]  # just inside the footprint
    flat = np.mean(np.abs(border - np.median(border)) <= FLAT) >= 0.9
    same_inside = ring.size and np.mean(np.abs(ring - np.median(border)) <= FLAT) >= 0.9
    if flat and not same_inside:  # a flat border that is not simply more of an equally flat background
        traces.vote(outer, "" if rotated else "padded")
    elif not rotated:  # the direction is for other evidence; the words are known either way
        traces.say(inner, "cropped")
        traces.say(outer, "padded")


def _corners(p: Picture, transform: np.ndarray) -> np.ndarray:
    corners = np.array([[0, 0, 1], [p.width, 0, 1], [p.width, p.height, 1], [0, p.height, 1]], np.float64)
    return corners @ transform.T


def _inside(points: np.ndarray, p: Picture, slack: float = 4.0) -> bool:
    return bool(np.all((points[:, 0] >= -slack) & (points[:, 0] <= p.width + slack) &
                       (points[:, 1] >= -slack) & (points[:, 1] <= p.height + slack)))


def _overlay_traces(x: Picture, y: Picture, transform: np.ndarray, traces: _Traces) -> None:
    """Where the aligned pictures differ strongly, the side with high-contrast strokes there has an overlay."""
    f = x.align_factor
    small = np.diag([f, f, 1.0]) @ np.vstack([transform, [0, 0, 1]]) @ np.diag([1 / y.align_factor] * 2 + [1.0])
    size = x.prepared.grey.shape[::-1]
    gx = x.prepared.grey
    gy = cv2.warpAffine(y.prepared.grey, small[:2], size, flags=cv2.INTER_LINEAR, borderValue=0)
    inside = cv2.warpAffine(np.ones_like(y.prepared.grey), small[:2], size, flags=cv2.INTER_NEAREST) > 0
    inside = cv2.erode(inside.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    if np.count_nonzero(inside) < 1000:
        return
    tone = _tone_fit(gx[inside].astype(np.float32), gy[inside].astype(np.float32))
    if tone is None:
        return
    fitted = (gy.astype(np.float32) - tone[1]) / tone[0]
    differ = (np.abs(fitted - gx) > OVERLAY_DELTA) & inside
    if not 0.0005 * differ.size <= np.count_nonzero(differ) <= 0.05 * differ.size:
        return  # nothing painted, or a change all over the picture (a blur, a tone curve), not an overlay
    where = cv2.dilate(differ.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    _, _, stats, _ = cv2.connectedComponentsWithStats(where.astype(np.uint8))
    parts = stats[1:][stats[1:, cv2.CC_STAT_AREA] >= 0.0005 * differ.size]
    # Painted strokes hang together in a few small places; a re-encode's errors are scattered pixels, and a
    # blur's differences run along every edge of the garment.
    if not len(parts) or parts[:, cv2.CC_STAT_AREA].sum() < 0.5 * np.count_nonzero(where) or \
            (parts[:, cv2.CC_STAT_WIDTH] * parts[:, cv2.CC_STAT_HEIGHT]).sum() > 0.1 * differ.size:
        return
    strokes = [float(np.abs(cv2.Laplacian(g.astype(np.float32), cv2.CV_32F))[where].mean()) for g in (gx, fitted)]
    if max(strokes) >= OVERLAY_STROKES * min(strokes) + 1.0:
        traces.vote(int(strokes[1] > strokes[0]), "overlay")


def _size_traces(x: Picture, y: Picture, c: Comparison, traces: _Traces) -> None:
    """Of two sizes of one photo, which is the copy. Scaling the smaller up to the larger and the larger down to
    the smaller are both tried: if the larger was made from the smaller, scaling up again lands close to it (only
    the interpolation kernel differs) while scaling down loses the smaller one's finest detail; if the smaller was
    made from the larger, scaling down lands close and scaling up cannot bring back the detail. The residuals are
    compared with each other, so no level of detail or noise has to be assumed (1.0 is the tie)."""
    ratio = c.scale if c.aligned else math.sqrt((x.width * x.height) / (y.width * y.height))
    if 1 / SAME_SCALE < ratio < SAME_SCALE:
        return
    larger = 0 if ratio > 1 else 1
    big, little = (x, y) if larger == 0 else (y, x)
    if _whole_frame_scaled(big, little, c):
        explained = _upscale_residuals(big, little, c.mirrored)
        if explained is not None and explained < 1 / UPSCALED_MARGIN:
            c.upscaled = larger
            traces.vote(larger, "upscaled", weight=2)  # pixels with no detail to fill them, whatever else differs
            return
        if explained is not None and explained < UPSCALED_MARGIN:
            return  # too close to call
    c.smaller = 1 - larger
    traces.vote(1 - larger, "smaller")


def _whole_frame_scaled(big: Picture, little: Picture, c: Comparison) -> bool:
    """True when one picture is the other scaled as a whole (both axes by about the same factor, corners on
    corners), so that plain resizing lines them up pixel for pixel."""
    fx, fy = big.width / little.width, big.height / little.height
    if abs(fx / fy - 1) > 0.02:
        return False
    return not c.aligned or abs(c.scale / (fx if c.scale > 1 else 1 / fx) - 1) <= 0.03


def _upscale_residuals(big: Picture, little: Picture, mirrored: bool) -> Optional[float]:
    """(error of the smaller scaled up) / (error of the larger scaled down), over the smaller one's textured
    pixels; below 1 the larger is an upscaled copy of the smaller, above 1 the smaller is a reduced copy."""
    big_luma = np.ascontiguousarray(big.luma[:, ::-1]) if mirrored else big.luma
    small = cv2.resize(big_luma, (little.width, little.height), interpolation=cv2.INTER_AREA)
    textured = cv2.morphologyEx(little.luma, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 8
    if np.count_nonzero(textured) < 500:
        return None
    tone = _tone_fit(small[textured], little.luma[textured])  # the two may differ in brightness and contrast
    if tone is None:
        return None
    gain, offset = tone
    down = np.abs(little.luma - (gain * small + offset))[textured].mean()
    up = cv2.resize(little.luma, (big.width, big.height), interpolation=cv2.INTER_CUBIC)
    textured_big = cv2.resize(textured.astype(np.uint8), (big.width, big.height), interpolation=cv2.INTER_NEAREST)
    up_error = np.abs(gain * big_luma + offset - up)[textured_big > 0].mean()
    return float(up_error / max(down, 1e-3))


# -- reading the files, once per content -----------------------------------------------------------
class _Cache:
    """Comparisons by pair of contents (a comparison depends on nothing else, so it never goes stale) and the
    last few decoded pictures (a group's pictures are asked for together). Shared by threads."""

    def __init__(self, comparisons: int = 20000, pictures: int = 4):
        self.lock = threading.Lock()
        self.comparisons: OrderedDict = OrderedDict()
        self.pictures: OrderedDict = OrderedDict()
        self.limits = (comparisons, pictures)

    def get(self, store: OrderedDict, key):
        with self.lock:
            if key in store:
                store.move_to_end(key)
                return store[key]
        return None

    def put(self, store: OrderedDict, key, value, limit: int) -> None:
        with self.lock:
            store[key] = value
            store.move_to_end(key)
            while len(store) > limit:
                store.popitem(last=False)


_cache = _Cache()


def _load(root: Optional[str], member: "Member") -> Optional[Picture]:
    """The member's picture, when its file can be read and still has the content it was indexed with."""
    if not root:
        return None
    found = _cache.get(_cache.pictures, member.sha256)
    if found is not None:
        return found or None
    picture: Optional[Picture] = None
    try:
        data = read_image_file(os.path.join(os.fsencode(root), member.path_raw or os.fsencode(member.path)))
        if not member.sha256 or hashlib.sha256(data).hexdigest() == member.sha256:
            picture = Picture(data)
    except (OSError, DecodeError, ValueError, SyntaxError, Image.DecompressionBombError):
        picture = None  # unreadable now: the keeper is chosen without its pixels
    _cache.put(_cache.pictures, member.sha256, picture or False, _cache.limits[1])
    return picture


# -- the criteria ----------------------------------------------------------------------------------
@dataclass
class Verdict:
    winner: "Member"
    loser: "Member"
    text: str  # seen from the keeper of a pair: "in a reference folder", "the other is an upscaled copy"
    loser_text: str = ""  # after the loser's name in a larger group: "is an upscaled copy"


class Context:
    """What the criteria may look at: the indexed folder (to read the files), the policy, product data."""

    def __init__(self, root: Optional[str] = None, policy: Optional[Policy] = None,
                 has_product_data: "Callable[[str], bool] | Iterable[str] | None" = None):
        self.root = root
        self.policy = policy or Policy()
        if has_product_data is not None and not callable(has_product_data):
            has_product_data = frozenset(has_product_data).__contains__
        self.has_product_data = has_product_data
        self.notes: list[str] = []  # said after the reason when a later criterion decided

    @classmethod
    def of(cls, catalog: "Catalog", has_product_data=None) -> "Context":
        """The catalogue's folder and policy; product data from the catalogue unless `has_product_data` is given."""
        if has_product_data is None and hasattr(catalog, "products_of"):
            has_product_data = lambda sha: bool(catalog.products_of([sha]).get(sha))  # noqa: E731
        return cls(catalog.get_meta("root"), load_policy(catalog), has_product_data)

    def comparison(self, a: "Member", b: "Member") -> tuple[Optional[Comparison], int]:
        """(the comparison of a's and b's contents, the index a has in it) -- (None, 0) without pixels."""
        first, second = sorted((a.sha256, b.sha256))
        side = 0 if a.sha256 == first else 1
        found = _cache.get(_cache.comparisons, (first, second))
        if found is None:
            x, y = (a, b) if side == 0 else (b, a)
            px, py = _load(self.root, x), _load(self.root, y)
            if px is None or py is None:
                return None, side
            found = compare(px, py)
            _cache.put(_cache.comparisons, (first, second), found, _cache.limits[0])
        return found, side


class Criterion:
    """One way to tell a keeper from a duplicate; judge() returns None when it cannot tell these two apart."""
    name = ""
    title = ""

    def judge(self, a: "Member", b: "Member", ctx: Context) -> Optional[Verdict]:
        raise NotImplementedError

    @staticmethod
    def by_key(a: "Member", b: "Member", key: Callable, text: str, loser_text: str = "") -> Optional[Verdict]:
        """The member with the smaller key wins; equal keys tell nothing."""
        ka, kb = key(a), key(b)
        if ka == kb:
            return None
        winner, loser = (a, b) if ka < kb else (b, a)
        return Verdict(winner, loser, text, loser_text)


class ReferenceFolders(Criterion):
    name, title = "reference", "a file in a reference folder (files there are never removed)"

    def judge(self, a, b, ctx):
        return self.by_key(a, b, lambda m: not in_reference_folder(m, ctx), "in a reference folder")


class Original(Criterion):
    name, title = "original", ("the original over an edited copy (mirror, overlay, upscale, tint, crop, padding, "
                               "re-encode, rotation)")

    def judge(self, a, b, ctx):
        if a.sha256 == b.sha256:
            return None
        c, side = ctx.comparison(a, b)
        if c is None:
            return None
        if c.copy is None:
            if c.mirrored:
                ctx.notes.append("the other is its mirror image; which one is the original could not be told")
            elif "no edit told them apart" not in ctx.notes:
                ctx.notes.append("no edit told them apart")
            return None
        copy, original = (a, b) if c.copy == side else (b, a)
        phrase = c.phrase(c.copy)
        return Verdict(original, copy, f"the other is {phrase}", f"is {phrase}")


class Resolution(Criterion):
    name, title = "resolution", "native resolution over an upscaled or smaller copy"

    def judge(self, a, b, ctx):
        if a.sha256 == b.sha256:
            return None
        c, side = ctx.comparison(a, b)
        if c is None:  # without the pixels, only the pixel counts: today's rule
            return self.by_key(a, b, lambda m: -(m.width * m.height), "more pixels", "has fewer pixels")
        if c.upscaled is not None:
            loser = a if c.upscaled == side else b
            return Verdict(b if loser is a else a, loser, "the other is an upscaled copy", "is an upscaled copy")
        if c.smaller is not None:
            loser = a if c.smaller == side else b
            return Verdict(b if loser is a else a, loser, "the other is a smaller copy", "is a smaller copy")
        return None


class ProductData(Criterion):
    name, title = "product_data", "the picture that has product data"

    def judge(self, a, b, ctx):
        if ctx.has_product_data is None:
            return None
        has = ctx.has_product_data
        return self.by_key(a, b, lambda m: not has(m.sha256), "it has product data", "has no product data")


class Formats(Criterion):
    name, title = "formats", "a preferred file format (the order of --formats)"

    def judge(self, a, b, ctx):
        order = ctx.policy.formats
        rank = lambda m: order.index(m.format) if m.format in order else len(order)  # noqa: E731
        v = self.by_key(a, b, rank, "")
        if v is not None:
            v.text = f"preferred format ({v.winner.format or 'unknown'} over {v.loser.format or 'unknown'})"
            v.loser_text = f"is {v.loser.format or 'of an unknown format'}"
        return v


class Oldest(Criterion):
    name, title = "oldest", "the oldest file (modification time)"

    def judge(self, a, b, ctx):
        return self.by_key(a, b, lambda m: m.mtime_ns, "oldest file", "is newer")


class Largest(Criterion):
    name, title = "largest", "the larger file, between pictures of one size and format (less compressed)"

    def judge(self, a, b, ctx):
        if (a.width, a.height, a.format) != (b.width, b.height, b.format):
            return None  # otherwise size says more about pixels and format than about what was kept
        return self.by_key(a, b, lambda m: -m.size, "larger file", "is a smaller file")


CRITERIA: dict[str, Criterion] = {c.name: c for c in (ReferenceFolders(), Original(), Resolution(), ProductData(),
                                                      Formats(), Oldest(), Largest())}


def in_reference_folder(member: "Member", ctx: Context) -> bool:
    raw = member.path_raw or os.fsencode(member.path)
    absolute = os.path.join(os.fsencode(ctx.root), raw) if ctx.root else raw
    for folder in ctx.policy.reference_folders:
        folder_raw = os.fsencode(folder).rstrip(b"/")
        base = absolute if os.path.isabs(folder_raw) else raw
        if folder_raw and (base == folder_raw or base.startswith(folder_raw + b"/")):
            return True
    return False


# -- choosing --------------------------------------------------------------------------------------
CHOSEN = "chosen by the curator"


@dataclass
class KeeperChoice:
    keeper: "Member"
    reason: str  # "keeper 0714807004.jpg: the other is a mirrored copy with a text overlay"
    chosen: bool = False  # True when the curator chose it


def choose(members: list["Member"], ctx: Optional[Context] = None) -> KeeperChoice:
    """The suggested keeper of `members` under the context's policy, with the reason in plain words.

    Criterion after criterion (the policy's order), every member another one beats is out; a criterion that
    only goes round in a circle (a beats b beats c beats a) leaves them all in."""
    ctx = ctx or Context()
    ctx.notes = []
    alive = sorted(members, key=lambda m: (m.path, m.path_raw))
    said: list[Verdict] = []
    for name in ctx.policy.order:
        if len(alive) < 2:
            break
        criterion = CRITERIA[name]
        beaten: dict[int, Verdict] = {}
        for a, b in combinations(alive, 2):
            verdict = criterion.judge(a, b, ctx)
            if verdict is not None:
                beaten.setdefault(id(verdict.loser), verdict)
        survivors = [m for m in alive if id(m) not in beaten]
        if survivors and len(survivors) < len(alive):
            said += [beaten[id(m)] for m in alive if id(m) in beaten]
            alive = survivors
    keeper = alive[0]
    if not said:
        why = "first by name (nothing told them apart)"
    elif len(said) == 1:
        why = said[0].text
    else:
        parts = [f"{_name(v.loser)} {v.loser_text}" if v.loser_text else v.text for v in said]
        why = "; ".join(dict.fromkeys(parts))
    if ctx.notes:  # the original criterion was asked and could not tell: say so beside what decided
        why += f" ({'; '.join(dict.fromkeys(ctx.notes))})"
    return KeeperChoice(keeper, f"keeper {_name(keeper)}: {why}")


def _name(member: "Member") -> str:
    return os.path.basename(member.path) or member.path


def keeper_for(catalog: "Catalog", members: list["Member"], has_product_data=None,
               ctx: Optional[Context] = None) -> KeeperChoice:
    """The keeper of `members` as the whole product sees it: the curator's choice, else the policy's."""
    from .review import chosen_keeper  # review imports this module

    chosen = chosen_keeper(members, catalog.keepers(), catalog.keeper_files())
    if chosen is not None:
        return KeeperChoice(chosen, chosen_reason(chosen), True)
    return choose(members, ctx or Context.of(catalog, has_product_data))


def chosen_reason(member: "Member") -> str:
    return f"keeper {_name(member)}: {CHOSEN}"


def pair_keepers(catalog: "Catalog", pairs: list, has_product_data=None) -> dict[tuple[bytes, bytes], dict]:
    """{(raw_a, raw_b): {"keeper": path, "keeper_reason": reason}} for review pairs (core/review.Pair): which of
    the two would stay were they merged, the curator's choice first."""
    from .review import member_of

    files = {f["path_raw"]: f for f in catalog.present_files()}
    ctx = Context.of(catalog, has_product_data)
    out = {}
    for p in pairs:
        if p.raw_a not in files or p.raw_b not in files:
            continue
        choice = keeper_for(catalog, [member_of(files[p.raw_a]), member_of(files[p.raw_b])], ctx=ctx)
        out[(p.raw_a, p.raw_b)] = {"keeper": choice.keeper.path, "keeper_reason": choice.reason}
    return out


def reference_folder(root: Optional[str], text: str) -> str:
    """A folder as the policy stores it: relative to the indexed folder when inside it (so the policy survives
    the folder moving), else absolute. A relative name is a folder of the current directory when there is one
    inside the indexed folder, else it is taken relative to the indexed folder."""
    path = os.path.normpath(text)
    if not os.path.isabs(path) and os.path.isdir(path):
        path = os.path.abspath(path)
    if root and os.path.isabs(path):
        inside = os.path.relpath(path, root)
        if inside != os.curdir and not inside.startswith(os.pardir):
            return inside
    return path


def describe(policy: Policy) -> str:
    """The policy in plain words, for `fashionsim keeper-policy`."""
    lines = ["Keeper policy: the first criterion that tells two pictures apart decides; the curator's own choice "
             "(fashionsim keeper PATH) always wins."]
    lines += [f"  {n}. {name:<13} {CRITERIA[name].title}" for n, name in enumerate(policy.order, start=1)]
    unused = [name for name in CRITERIA if name not in policy.order]
    if unused:
        lines.append(f"  not used: {', '.join(unused)}")
    lines.append(f"Reference folders: {', '.join(policy.reference_folders) or '(none)'}")
    lines.append(f"Formats, preferred first: {', '.join(policy.formats)}")
    return "\n".join(lines)
