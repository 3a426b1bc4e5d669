"""A verified pair's evidence in the few words a curator reads first (no Qt here: the window, the CLI and the
exports all use it).

    describe_duplicate(ev)  what differs between two copies of one photo: "mirrored copy, re-encoded",
                            "cropped or padded copy, brighter", "same photo, text or logo added"
    describe_lookalike(ev)  what a pair the look-alike rule rejected shares and does not: "same layout,
                            different garment", "same layout, different detail"
    is_lookalike(ev)        that rule; it lives with the score (core/pairs.py), so scores, tiers and these words
                            follow one policy

The words describe the second picture against the first. Each threshold below was read off the benchmark's tune
half (`python -m benchmarks.accuracy --split tune`): the edit kind it names reaches it, a copy without that edit
stays well clear of it.
"""
from __future__ import annotations

from .pairs import is_lookalike
from .verify import Evidence

__all__ = ["describe_duplicate", "describe_lookalike", "is_lookalike"]

TURNED = 1.5  # degrees; rotated copies are turned by 2-8, others by under 0.2
SQUEEZED = 1.05  # one axis scaled this much more than the other
RESIZED = 1.15  # scale factor between the two
REFRAMED = 1.05  # frame area ratio beyond which one shows more of the scene (a crop, or a border added)
TONED = 6.0  # median lightness moved by this much (Lab L, 0..255): tone edits move it by 4-30
BACKGROUND = 12.0  # border colours this far apart (RGB), when nothing else explains it
ADDED = 0.97  # agreement over either garment below this, with the structure intact: something laid over it
IDENTICAL_NCC = 0.999  # at or above (and no colour shift): the same pixels, so not even re-encoded
WHOLE_GARMENT = 0.5  # a look-alike differing in at least this share of its cells differs in the garment itself


def describe_duplicate(ev: Evidence) -> str:
    """A short phrase for two copies of one photo, e.g. "mirrored copy, re-encoded, background tinted"."""
    shape = _shape_changes(ev)
    rest = _tone_changes(ev)
    if not shape and not rest and ev.background >= BACKGROUND:  # a new frame or tone moves the border colour too
        rest.append("background tinted")
    if not shape and ev.agree < ADDED and ev.ncc >= 0.98:
        rest.append("text or logo added")
    if not shape and not rest and (ev.ncc < IDENTICAL_NCC or ev.chroma >= 1.0):
        rest.append("re-encoded")
    head = ", ".join(shape) + " copy" if shape else "same photo"
    return ", ".join([head] + rest)


def describe_lookalike(ev: Evidence) -> str:
    """A short phrase for two products shot in one template, e.g. "same layout, different garment"."""
    if ev.differ >= WHOLE_GARMENT:
        return "same layout, different garment"
    return "same layout, different detail"


def _shape_changes(ev: Evidence) -> list[str]:
    changes = []
    if ev.mirrored:
        changes.append("mirrored")
    turned = abs(ev.angle) >= TURNED
    if ev.stretch >= SQUEEZED:
        changes.append("squeezed")
    elif turned:
        changes.append("rotated")
    # Which of the two was cut or extended the pixels cannot tell (the pair's order is arbitrary), so both read
    # the same; turning a photo always widens its frame.
    if not turned and not (1 / REFRAMED < ev.frame < REFRAMED):
        changes.append("cropped or padded")
    elif not (1 / RESIZED < ev.scale < RESIZED):  # pictures are compared at a working size: only small copies show
        changes.append("resized")
    return changes


def _tone_changes(ev: Evidence) -> list[str]:
    changes = []
    if ev.brightness >= TONED:
        changes.append("brighter")
    elif ev.brightness <= -TONED:
        changes.append("darker")
    return changes
