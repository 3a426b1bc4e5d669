"""Query by example: the catalogue pictures most similar to images that need not be in the catalogue.

Results come grouped by tier (core/tiers.py): copies of the query photo first (collapsed into one row by the
caller), then the same product in other colours or shots, then similar products. Copies are found by the
pictures' embeddings; products by their product vectors (core/product_vectors.py) in their own index.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from . import ann
from .embedder import Embedder
from .errors import CatalogError, ModelError
from .imaging import decode, read_image_file
from .pairs import CLOSE_COPY_COSINE
from .tiers import Tier
from ..store.catalog import Catalog

CANDIDATES_PER_RESULT = 4  # look at 4x as many ANN candidates, then rank them by full-vector cosine
REBUILT_MESSAGE = "The search index was damaged and has been rebuilt."
# A catalogue picture this close to the query by embedding is a copy of the query photo (the threshold at which
# the pair phase verifies any neighbour as a likely copy, core/pairs.py).
COPY_COSINE = CLOSE_COPY_COSINE


@dataclass
class Hit:
    path: str
    sha256: str
    similarity: float
    path_raw: bytes = b""  # the file's identity (`path` is display text; two names can look alike)
    tier: Optional[Tier] = None

    def as_dict(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "similarity": round(self.similarity, 4),
                "tier": self.tier.value if self.tier else None}


@dataclass
class Results:
    """One query's results by tier. `copies` are the query photo itself (EXACT: the same bytes) and its edited
    copies (DUPLICATE), by embedding similarity; `variants` and `similar` by product similarity."""
    copies: list[Hit] = field(default_factory=list)
    variants: list[Hit] = field(default_factory=list)
    similar: list[Hit] = field(default_factory=list)

    def hits(self) -> list[Hit]:
        return self.copies + self.variants + self.similar

    def rows(self) -> list[dict]:
        """Copies collapsed into one row (the best copy, with every copy's path), then one row per product."""
        rows = []
        if self.copies:
            rows.append({**self.copies[0].as_dict(), "copies": [h.path for h in self.copies]})
        return rows + [h.as_dict() for h in self.variants + self.similar]


class Searcher:
    """Holds the model session and the memory-mapped index: load once, query many times."""

    def __init__(self, catalog: Catalog, embedder: Optional[Embedder] = None):
        self.catalog = catalog
        self.embedder = embedder or Embedder(threads=2)
        model_id = self.embedder.model_id
        fingerprint = catalog.get_meta(ann.FINGERPRINT_KEY)
        self.index = ann.load(catalog.directory, model_id, fingerprint)
        self.shas, self.vectors = catalog.embeddings(model_id)
        # Damaged, truncated or missing index files: rebuilt from the stored embeddings (seconds), not trusted.
        # An index from before fingerprints were kept is rebuilt too, without calling it damaged.
        needs_building = self.index is None and len(self.shas) > 0
        self.rebuilt = needs_building and fingerprint is not None
        if needs_building:
            self.index = self._rebuild(model_id)
        self.row_of = {sha: i for i, sha in enumerate(self.shas)}
        self._product_search = self._load_products(catalog)
        files = catalog.present_files()
        self.path_of: dict[str, str] = {}
        self.raw_of: dict[str, bytes] = {}
        for f in files:
            self.path_of.setdefault(f["sha256"], f["path"])
            self.raw_of.setdefault(f["sha256"], f["path_raw"])

    def _rebuild(self, model_id: str) -> Optional[ann.AnnIndex]:
        try:
            fingerprint = ann.build(self.catalog.directory, self.shas, self.vectors, model_id)
            self.catalog.set_meta(ann.FINGERPRINT_KEY, fingerprint)
            return ann.load(self.catalog.directory, model_id, fingerprint) or ann.in_memory(self.shas, self.vectors)
        except (OSError, CatalogError):  # a read-only catalogue folder: search this session all the same
            return ann.in_memory(self.shas, self.vectors)

    @property
    def ready(self) -> bool:
        return self.index is not None and len(self.shas) > 0

    def embed_bytes(self, data: bytes) -> np.ndarray:
        return self.embedder.embed([decode(data).image])[0]

    def query_vector(self, vector: np.ndarray, k: int = 10, exclude: Optional[str] = None) -> list[Hit]:
        if not self.ready:
            return []
        ids = self.index.query(vector, k * CANDIDATES_PER_RESULT)
        shas = [self.index.shas[i] for i in ids]
        rows = [self.row_of[s] for s in shas if s in self.row_of and s != exclude]
        if not rows:
            return []
        sims = self.vectors[rows] @ vector
        order = np.argsort(-sims)[:k]
        return [Hit(self.path_of.get(self.shas[rows[i]], "?"), self.shas[rows[i]], float(sims[i]),
                    self.raw_of.get(self.shas[rows[i]], b"")) for i in order]

    def query_file(self, path: Path, k: int = 10) -> list[Hit]:
        return self.query_vector(self.embed_bytes(read_image_file(path)), k)

    # -- by tier ---------------------------------------------------------------------------------
    def _load_products(self, catalog: Catalog):
        """The product encoder, index, sha256 list and vectors, loaded with the searcher (the catalogue connection
        may be closed after); None where the catalogue has no product vectors yet (indexed before them)."""
        from .product_similarity import load_product_index
        from .product_vectors import ProductEncoder

        try:
            encoder = ProductEncoder()
        except ModelError as exc:  # the head is missing: search by tier is not offered, search still works
            catalog.warn(f"Other colours and similar products are not available: {exc}")
            return None
        shas, vectors = catalog.product_vectors(encoder.head_id)
        if not shas:
            return None
        index = load_product_index(catalog, encoder.head_id)
        if index is not None and index.shas != shas:  # pictures gone or added since it was built
            index.close()
            index = None
        if index is None:
            index = ann.in_memory(shas, vectors)  # not built yet (or damaged): for this session only
        return encoder, index, shas, vectors

    def grouped_bytes(self, data: bytes, k: int = 10) -> Results:
        """Results for a picture given as its file's bytes (a file, a drop, a paste)."""
        return self.grouped_vector(self.embed_bytes(data), k, same_bytes=hashlib.sha256(data).hexdigest())

    def grouped_file(self, path: Path, k: int = 10) -> Results:
        return self.grouped_bytes(read_image_file(path), k)

    def grouped_similar_to(self, sha256: str, k: int = 10) -> Results:
        """Results for a catalogue picture (itself left out)."""
        if sha256 not in self.row_of:
            return Results()
        return self.grouped_vector(self.vectors[self.row_of[sha256]], k, exclude=sha256)

    def grouped_vector(self, vector: np.ndarray, k: int = 10, exclude: Optional[str] = None,
                       same_bytes: Optional[str] = None) -> Results:
        """k rows of results by tier: the copies of the query photo among its k nearest pictures (one row), then
        the nearest products (variants at or above the variant threshold, then similar products)."""
        from .product_vectors import VARIANT_COSINE

        results = Results()
        for hit in self.query_vector(vector, k, exclude=exclude):
            if hit.sha256 == same_bytes or hit.similarity >= COPY_COSINE:
                hit.tier = Tier.EXACT if hit.sha256 == same_bytes else Tier.DUPLICATE
                results.copies.append(hit)
        products = self._product_search
        if products is None:
            return results
        encoder, index, shas, product_vectors = products
        query = encoder.encode(vector[None, :])[0]
        seen = {h.sha256 for h in results.copies} | {exclude}
        # The index's rows are the product vectors' rows (both in sha256 order, built from the same list).
        rows = [i for i in index.query(query, k * CANDIDATES_PER_RESULT) if shas[i] not in seen]
        sims = product_vectors[rows] @ query if rows else np.zeros(0)
        for i in np.argsort(-sims)[:max(0, k - (1 if results.copies else 0))]:
            sha = shas[rows[i]]
            tier = Tier.VARIANT if sims[i] >= VARIANT_COSINE else Tier.SIMILAR
            hit = Hit(self.path_of.get(sha, "?"), sha, float(sims[i]), self.raw_of.get(sha, b""), tier)
            (results.variants if tier == Tier.VARIANT else results.similar).append(hit)
        return results

    def similar_to(self, sha256: str, k: int = 10) -> list[Hit]:
        """Catalogue pictures most like one already in the catalogue (itself excluded)."""
        if sha256 not in self.row_of:
            return []
        return self.query_vector(self.vectors[self.row_of[sha256]], k, exclude=sha256)

    def close(self) -> None:
        if self.index is not None:
            self.index.close()
        if self._product_search is not None:
            self._product_search[1].close()
