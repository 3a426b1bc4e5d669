"""How alike two pictures are, as one type shared by the store, the CLI and the window.

    exact      the same bytes
    duplicate  the same photo, edited (verified: re-encoded, resized, cropped, mirrored, tinted, overlaid ...)
    variant    the same product in another colour, or another shot of the same product
    similar    the same kind of product

Tiers are ordered from the closest: `Tier.EXACT < Tier.DUPLICATE`. Pairs proposed today are exact or
duplicate; variant and similar are the tiers of product-level similarity.
"""
from __future__ import annotations

from enum import Enum


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
