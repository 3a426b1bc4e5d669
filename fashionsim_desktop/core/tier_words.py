"""A candidate pair's evidence in plain words, by tier: what a curator reads before the numbers.

    exact      "identical files"
    duplicate  what differs between the two copies of one photo (core/evidence_words.py): "mirrored copy,
               re-encoded, background tinted"
    variant    "same garment, other colour" where the verifier aligned the two and only the colour differs, else
               "looks like the same product in another colour or shot" (by the product vectors alone)
    similar    what the verifier saw ("same model and pose, different garment") or "same kind of product"
"""
from __future__ import annotations

from .tiers import Tier


def describe(tier: Tier, evidence: dict) -> str:
    if tier == Tier.EXACT:
        return "identical files (the same bytes)"
    ev = _evidence(evidence)
    if tier == Tier.DUPLICATE:
        from .evidence_words import describe_duplicate

        return describe_duplicate(ev) if ev is not None else "same photo, edited"
    if tier == Tier.VARIANT:
        from .pairs import is_other_colour

        return "same garment, other colour" if ev is not None and is_other_colour(ev) else \
            "looks like the same product in another colour or shot"
    if ev is not None:
        from .evidence_words import describe_lookalike, is_lookalike

        if is_lookalike(ev):
            return describe_lookalike(ev)
    return "same kind of product"


def _evidence(evidence: dict):
    """The verification's evidence, when the pair was verified (its evidence has matching details)."""
    if not evidence or "inliers" not in evidence:
        return None
    from .verify import Evidence

    return Evidence.from_dict(evidence)
