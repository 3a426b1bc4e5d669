"""Seeded near-duplicate variants of catalogue images: the edits curators meet in real catalogues.

`make_variant(image, kind, rng)` returns (edited RGB image, file format). Every kind is a near duplicate of
its source (the same product photo); the benchmark labels (source, variant) as a true pair.

`KINDS` are the mild edits the scorer was first fitted on (other benchmarks draw from them too); `HARSH_KINDS`
are crops that change the aspect ratio, alone and combined with a re-encode and a tone change, as shops re-frame
photos for their own grid. The accuracy benchmark uses both (`BENCHMARK_KINDS`).
"""
from __future__ import annotations

import random

from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

KINDS = (
    "reencode", "resize", "crop", "pad", "mirror", "rotate", "tone", "background", "overlay", "format",
)
HARSH_KINDS = ("crop_aspect", "crop_reencode_tone")
BENCHMARK_KINDS = KINDS + HARSH_KINDS


def _reencode(im, rng):
    return im, ("JPEG", rng.randint(35, 65))


def _resize(im, rng):
    f = rng.uniform(0.45, 0.8)
    return im.resize((max(32, int(im.width * f)), max(32, int(im.height * f))), Image.Resampling.LANCZOS), ("JPEG", 85)


def _crop(im, rng):
    # Re-framing: cut 4-12% from each side independently (keeps most of the garment).
    w, h = im.size
    l, r = int(w * rng.uniform(0.02, 0.12)), int(w * rng.uniform(0.02, 0.12))
    t, b = int(h * rng.uniform(0.02, 0.12)), int(h * rng.uniform(0.02, 0.12))
    return im.crop((l, t, w - r, h - b)), ("JPEG", 90)


def _crop_aspect(im, rng):
    # Re-framing to another aspect ratio: 5-25% off one axis only, from one edge or split over both.
    w, h = im.size
    vertical = rng.random() < 0.5
    side = h if vertical else w
    cut = int(side * rng.uniform(0.05, 0.25))
    first = rng.choice([0, cut, rng.randint(0, cut)])  # all from the top/left, all from the other edge, or split
    box = (0, first, w, h - (cut - first)) if vertical else (first, 0, w - (cut - first), h)
    return im.crop(box), ("JPEG", 90)


def _crop_reencode_tone(im, rng):
    # What a reseller's pipeline does in one go: re-frame, re-tone, save at a low quality.
    cropped, _ = _crop_aspect(im, rng)
    toned, _ = _tone(cropped, rng)
    return toned, ("JPEG", rng.randint(40, 70))


def _pad(im, rng):
    w, h = im.size
    border = int(max(w, h) * rng.uniform(0.05, 0.2))
    grey = rng.choice([255, 255, 240, 230])
    padded = ImageOps.expand(im, border=border, fill=(grey, grey, grey))
    if rng.random() < 0.5:  # a thin frame line, as some marketplaces add
        ImageDraw.Draw(padded).rectangle([2, 2, padded.width - 3, padded.height - 3], outline=(200, 200, 200), width=2)
    return padded, ("JPEG", 90)


def _mirror(im, rng):
    return ImageOps.mirror(im), ("JPEG", 90)


def _rotate(im, rng):
    angle = rng.choice([-1, 1]) * rng.uniform(2, 8)
    return im.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=(255, 255, 255)), ("JPEG", 90)


def _tone(im, rng):
    im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.8, 1.2))
    im = ImageEnhance.Contrast(im).enhance(rng.uniform(0.8, 1.25))
    return ImageEnhance.Color(im).enhance(rng.uniform(0.85, 1.15)), ("JPEG", 88)


def _background(im, rng):
    # Tint the near-white studio background, leave the garment alone.
    tint = tuple(rng.randint(215, 245) for _ in range(3))
    grey = im.convert("L")
    mask = grey.point(lambda v: 255 if v > 235 else 0).convert("L")
    tinted = Image.new("RGB", im.size, tint)
    out = im.copy()
    out.paste(tinted, (0, 0), mask)
    return out, ("JPEG", 90)


def _overlay(im, rng):
    out = im.copy()
    draw = ImageDraw.Draw(out)
    w, h = out.size
    size = max(10, int(h * rng.uniform(0.04, 0.07)))
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:
        font = ImageFont.load_default()
    text = rng.choice(["SALE -30%", "NEW IN", "© shop.example", "BESTSELLER"])
    x, y = int(w * rng.uniform(0.03, 0.4)), int(h * rng.choice([rng.uniform(0.02, 0.1), rng.uniform(0.85, 0.92)]))
    colour = rng.choice([(200, 0, 0), (20, 20, 20), (120, 120, 120)])
    draw.text((x, y), text, fill=colour, font=font)
    if rng.random() < 0.5:  # a small corner logo badge
        r = int(min(w, h) * 0.06)
        cx, cy = w - 2 * r, 2 * r
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(30, 30, 30))
    return out, ("JPEG", 90)


def _format(im, rng):
    return im, (rng.choice(["PNG", "WEBP"]), 90)


_MAKERS = {
    "reencode": _reencode, "resize": _resize, "crop": _crop, "pad": _pad, "mirror": _mirror,
    "rotate": _rotate, "tone": _tone, "background": _background, "overlay": _overlay, "format": _format,
    "crop_aspect": _crop_aspect, "crop_reencode_tone": _crop_reencode_tone,
}


def make_variant(im: Image.Image, kind: str, rng: random.Random):
    """Return (variant image, (format, quality))."""
    return _MAKERS[kind](im.convert("RGB"), rng)


def save_variant(im: Image.Image, fmt, path) -> str:
    """Save with the variant's format; returns the path actually written (extension matches the format)."""
    name, quality = fmt
    ext = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}[name]
    path = str(path)
    path = path.rsplit(".", 1)[0] + ext
    im.save(path, name, quality=quality) if name != "PNG" else im.save(path, name)
    return path
