"""How alike two pictures are, as one type shared by the store, the CLI and the window, and the one rule that
gives a candidate pair its tier.

    exact      the same bytes
    duplicate  the same photo, edited (verified: re-encoded, resized, cropped, mirrored, tinted, overlaid ...)
    variant    the same product in another colour, or another shot of the same product
    similar    the same kind of product

Tiers are ordered from the closest: `Tier.EXACT < Tier.DUPLICATE < Tier.VARIANT < Tier.SIMILAR`. A pair is a
duplicate by the verification's score (core/pairs.py), a variant or similar by the cosine of the two pictures'
product vectors (core/product_vectors.py); a pair the verifier recognised as two products shot in one template
(the same model and pose, the same packaging, the same flat-lay) is never more than similar.
"""
from __future__ import annotations

from enum import Enum
from typing import Optional


class Tier(str, Enum):
    EXACT = "exact"
    DUPLICATE = "duplicate"
    VARIANT = "variant"
    SIMILAR = "similar"

    @property
    def rank(self) -> int:
        return list(Tier).index(self)

    def __lt__(self, other: "Tier") -> bool:  # closer tiers sort first
        return self.rank < other.rank

    @classmethod
    def parse(cls, text: str) -> "Tier":
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(t.value for t in cls)
            raise ValueError(f"unknown tier '{text}' (one of: {names})") from None

    @property
    def label(self) -> str:
        """What a curator reads in a heading or a filter."""
        return _LABELS[self]


_LABELS = {Tier.EXACT: "Identical files", Tier.DUPLICATE: "Same photo, edited",
           Tier.VARIANT: "Same product, other colour or shot", Tier.SIMILAR: "Similar products"}

DUPLICATE_TIERS = frozenset({Tier.EXACT, Tier.DUPLICATE})  # what the merge review is about
PRODUCT_TIERS = frozenset({Tier.VARIANT, Tier.SIMILAR})

# Stored tiers remember the rules they were worked out by: changing a rule below means bumping this, and the next
# index run works every tier out again (no picture is decoded for it).
TIER_RULES = "tiers-2"


def classify(score: Optional[float], product_cosine: Optional[float], lookalike: bool = False,
             other_colour: bool = False) -> Tier:
    """The tier of a candidate pair of two different pictures (byte copies are EXACT before any of this).

    `score` is the verification's duplicate score (None: not verified), `product_cosine` the cosine of the two
    product vectors; the verifier found either two products shot in one template (`lookalike`) or the same
    garment shot alike in another colour (`other_colour`, core/pairs.py). The verifier's word comes first: it
    compared the pictures, where the product vectors only say what they look like (on held-out products, a third
    of the pairs above VARIANT_COSINE share a product code; models/README.md)."""
    from .pairs import DEFAULT_MIN_SCORE
    from .product_vectors import VARIANT_COSINE

    if score is not None and score >= DEFAULT_MIN_SCORE and not lookalike:
        return Tier.DUPLICATE
    if other_colour:
        return Tier.VARIANT
    if not lookalike and product_cosine is not None and product_cosine >= VARIANT_COSINE:
        return Tier.VARIANT
    return Tier.SIMILAR
