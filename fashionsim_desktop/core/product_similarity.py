"""The index run's product phases: product vectors for new pictures, their ANN index, and the tier of every
candidate pair.

Product vectors come from the stored embeddings (core/product_vectors.py), so a catalogue made before them
gains them, and its pairs gain tiers, without decoding any picture again. Candidate pairs are the verified
pairs (core/pairs.py) and each picture's nearest products at the variant level; each gets its tier by the one
rule in core/tiers.py.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from . import ann
from .pairs import VERIFIER_VERSION
from .product_vectors import VARIANT_COSINE, ProductEncoder
from .tiers import TIER_RULES, Tier, classify
from ..store.catalog import Catalog

ENCODE_BATCH = 4096  # embeddings read and encoded at a time: 26 MB of float32 input
# Each picture's nearest products looked at for variants: a product rarely has more than 10 colours and shots.
PRODUCT_NEIGHBOURS = 10
NEIGHBOURS_DONE_KEY = "product_neighbours_done_for"  # meta: the product index and rules whose variants are stored

Progress = Optional[Callable[[int, int], None]]


def update_product_vectors(catalog: Catalog, model_id: str, encoder: ProductEncoder, on_progress: Progress = None) -> int:
    """Product vectors for every picture that lacks one from this head; returns how many were made."""
    todo = catalog.shas_needing_product_vectors(model_id, encoder.head_id)
    for start in range(0, len(todo), ENCODE_BATCH):
        shas = todo[start:start + ENCODE_BATCH]
        catalog.save_product_vectors(shas, encoder.encode(catalog.embeddings_of(shas)), encoder.head_id)
        if on_progress:
            on_progress(start + len(shas), len(todo))
    return len(todo)


def build_product_index(catalog: Catalog, head_id: str, on_progress: Progress = None) -> None:
    shas = catalog.product_vector_shas(head_id)
    if not shas or ann.holds_exactly(catalog.directory, head_id, catalog.get_meta(ann.PRODUCTS_FINGERPRINT_KEY),
                                     shas, name=ann.PRODUCTS):
        return  # nothing to index, or the saved index already holds these pictures
    shas, vectors = catalog.product_vectors(head_id)
    fingerprint = ann.build(catalog.directory, shas, vectors, head_id, on_progress, name=ann.PRODUCTS)
    catalog.set_meta(ann.PRODUCTS_FINGERPRINT_KEY, fingerprint)


def load_product_index(catalog: Catalog, head_id: str) -> Optional[ann.AnnIndex]:
    return ann.load(catalog.directory, head_id, catalog.get_meta(ann.PRODUCTS_FINGERPRINT_KEY), name=ann.PRODUCTS)


def tier_basis(head_id: str) -> str:
    """What a stored tier was worked out from: when any part changes, it is worked out again."""
    return f"{head_id}/{VERIFIER_VERSION}/{TIER_RULES}"


def update_pair_tiers(catalog: Catalog, head_id: str, on_progress: Progress = None) -> int:
    """Work out the tier of every candidate pair that has none yet (or only an unverified one and is verified
    now); returns how many tiers were stored. A run where nothing changed reads no vectors and parses nothing."""
    basis = tier_basis(head_id)
    catalog.forget_stale_tiers(basis)
    # The neighbours of an unchanged product index under unchanged rules were all stored by an earlier run.
    neighbours_for = f"{catalog.get_meta(ann.PRODUCTS_FINGERPRINT_KEY)}|{basis}|{PRODUCT_NEIGHBOURS}"
    searched = catalog.get_meta(NEIGHBOURS_DONE_KEY) == neighbours_for
    todo = list(catalog.untiered_verified_rows(VERIFIER_VERSION))
    if searched and not todo:
        return 0
    shas, vectors = catalog.product_vectors(head_id)
    row_of = {sha: i for i, sha in enumerate(shas)}
    rows = []
    for a, b, score, evidence in todo:
        if a in row_of and b in row_of:
            pc = float(vectors[row_of[a]] @ vectors[row_of[b]])
            rows.append({"sha_a": a, "sha_b": b, "tier": verified_tier(score, evidence, pc),
                         "product_cosine": pc, "score": score, "basis": basis})
    if not searched:
        stored, verified = catalog.tiered_keys(), catalog.verified_keys(VERIFIER_VERSION)
        rows.extend({"sha_a": a, "sha_b": b, "tier": Tier.VARIANT, "product_cosine": pc, "score": None,
                     "basis": basis}
                    for a, b, pc in _product_neighbours(catalog, head_id, shas, vectors, on_progress)
                    if (a, b) not in stored and (a, b) not in verified)
    catalog.save_pair_tiers(rows)
    if not searched:
        catalog.set_meta(NEIGHBOURS_DONE_KEY, neighbours_for)
    return len(rows)


def _product_neighbours(catalog: Catalog, head_id: str, shas: list[str], vectors: np.ndarray,
                        on_progress: Progress) -> list[tuple[str, str, float]]:
    """(sha_a, sha_b, product cosine) for each picture's nearest products at or above VARIANT_COSINE."""
    index = load_product_index(catalog, head_id)
    if index is None or index.shas != shas:  # a stale or missing index: no neighbours this run
        if index is not None:
            index.close()
        return []
    out: dict[tuple[str, str], float] = {}
    try:
        for i in range(len(shas)):
            neighbours = [j for j in index.neighbours_of(i, PRODUCT_NEIGHBOURS) if j != i]
            if neighbours:
                cosines = vectors[neighbours] @ vectors[i]
                for j, c in zip(neighbours, cosines):
                    if c >= VARIANT_COSINE:
                        out[(min(shas[i], shas[j]), max(shas[i], shas[j]))] = float(c)
            if on_progress and (i % 2000 == 0 or i == len(shas) - 1):
                on_progress(i + 1, len(shas))
    finally:
        index.close()
    return [(a, b, c) for (a, b), c in out.items()]


def verified_tier(score: Optional[float], evidence: Optional[dict], product_cosine: Optional[float]) -> Tier:
    """The tier of a verified pair, from its score, the verifier's evidence and (when known) its product cosine."""
    lookalike, other_colour = _verdicts(evidence)
    return classify(score, product_cosine, lookalike, other_colour)


def _verdicts(evidence: Optional[dict]) -> tuple[bool, bool]:
    """What the verifier recognised (core/pairs.py): (two products shot in one template, the same garment in
    another colour)."""
    if not evidence:
        return False, False
    from .pairs import is_lookalike, is_other_colour
    from .verify import Evidence

    ev = Evidence.from_dict(evidence)
    return is_lookalike(ev), is_other_colour(ev)
