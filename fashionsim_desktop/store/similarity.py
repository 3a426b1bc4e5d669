"""The catalogue's product-level similarity: each picture's product vector and each candidate pair's tier.

A mixin of `Catalog` (store/catalog.py), kept apart because it is one job: product vectors are computed from the
stored embeddings (core/product_vectors.py, no picture decoded again), and the tier of every candidate pair
(core/tiers.py) is stored with what it was worked out from, so a new model, head, verifier or tier rule makes
the index run work it out again.

Tables (schema 5):
    product_vectors  sha256, head_id, vector (float16 bytes: half the size, cosines move by < 1e-3)
    pair_tiers       sha_a < sha_b, tier, product_cosine, score (None: never verified), basis (what it was
                     worked out from: head, verifier and tier rules)
"""
from __future__ import annotations

from typing import Iterable, Optional

import numpy as np

from . import vector_codec

VECTOR_DTYPE = np.float16


class SimilarityStore:
    """Needs `self.db`, `self._run` and `self.transaction` (Catalog)."""

    def _upgrade_to_v5(self) -> None:
        self.db.execute("CREATE TABLE product_vectors (sha256 TEXT PRIMARY KEY, head_id TEXT NOT NULL, "
                        "vector BLOB NOT NULL)")
        self.db.execute("CREATE TABLE pair_tiers (sha_a TEXT NOT NULL, sha_b TEXT NOT NULL, tier TEXT NOT NULL, "
                        "product_cosine REAL, score REAL, basis TEXT NOT NULL, PRIMARY KEY (sha_a, sha_b))")
        self.db.execute("CREATE INDEX idx_pair_tiers_tier ON pair_tiers (tier)")

    # -- product vectors -------------------------------------------------------------------------
    def shas_needing_product_vectors(self, model_id: str, head_id: str) -> list[str]:
        """Pictures embedded by this model whose product vector is missing or from another head."""
        sql = ("SELECT i.sha256 FROM images i LEFT JOIN product_vectors p ON p.sha256=i.sha256 "
               "WHERE i.model_id=? AND i.embedding IS NOT NULL AND (p.sha256 IS NULL OR p.head_id IS NOT ?) "
               "ORDER BY i.sha256")
        return [r[0] for r in self._run(lambda: self.db.execute(sql, [model_id, head_id]).fetchall())]

    def embeddings_of(self, shas: list[str]) -> np.ndarray:
        """float32 embeddings of these pictures, in this order (every one must have an embedding)."""
        by_sha: dict[str, tuple[bytes, str]] = {}
        for start in range(0, len(shas), 500):
            chunk = shas[start:start + 500]
            sql = (f"SELECT sha256, embedding, embedding_format FROM images "
                   f"WHERE sha256 IN ({','.join('?' * len(chunk))})")
            by_sha.update((sha, (blob, fmt)) for sha, blob, fmt in self._run(
                lambda: self.db.execute(sql, chunk).fetchall()))
        if not shas:
            return np.zeros((0, 0), np.float32)
        return np.stack([vector_codec.decode(*by_sha[s]) for s in shas])

    def save_product_vectors(self, shas: list[str], vectors: np.ndarray, head_id: str) -> None:
        rows = [(sha, head_id, v.astype(VECTOR_DTYPE).tobytes()) for sha, v in zip(shas, vectors)]
        with self.transaction():
            self.db.conn.executemany("INSERT OR REPLACE INTO product_vectors (sha256, head_id, vector) "
                                     "VALUES (?, ?, ?)", rows)

    def product_vector_shas(self, head_id: str) -> list[str]:
        """The sha256 of every present picture with a product vector from this head, as `product_vectors` orders
        them."""
        sql = ("SELECT p.sha256 FROM product_vectors p WHERE p.head_id=? AND EXISTS "
               "(SELECT 1 FROM files f WHERE f.sha256=p.sha256 AND f.status='ok') ORDER BY p.sha256")
        return [sha for (sha,) in self._run(lambda: self.db.execute(sql, [head_id]).fetchall())]

    def product_vectors(self, head_id: str) -> tuple[list[str], np.ndarray]:
        """(sha256 list, float32 matrix) of every present picture's product vector from this head."""
        sql = ("SELECT p.sha256, p.vector FROM product_vectors p WHERE p.head_id=? AND EXISTS "
               "(SELECT 1 FROM files f WHERE f.sha256=p.sha256 AND f.status='ok') ORDER BY p.sha256")
        shas: list[str] = []
        blobs: list[bytes] = []
        for sha, blob in self._run(lambda: self.db.execute(sql, [head_id])):
            shas.append(sha)
            blobs.append(blob)
        if not shas:
            return [], np.zeros((0, 0), np.float32)
        matrix = np.frombuffer(b"".join(blobs), dtype=VECTOR_DTYPE).reshape(len(shas), -1).astype(np.float32)
        return shas, matrix

    # -- tiers -----------------------------------------------------------------------------------
    def forget_stale_tiers(self, basis: str) -> None:
        """Tiers worked out from another head, verifier or rule set are worked out again."""
        self._run(lambda: self.db.execute("DELETE FROM pair_tiers WHERE basis IS NOT ?", [basis]))

    def tiered_keys(self) -> dict[tuple[str, str], bool]:
        """(sha_a, sha_b) -> whether the pair had been verified when its tier was stored."""
        rows = self._run(lambda: self.db.execute("SELECT sha_a, sha_b, score IS NOT NULL FROM pair_tiers").fetchall())
        return {(a, b): bool(verified) for a, b, verified in rows}

    def save_pair_tiers(self, rows: Iterable[dict]) -> None:
        """rows: sha_a < sha_b, tier (a Tier or its value), product_cosine, score, basis."""
        rows = [{**r, "tier": getattr(r["tier"], "value", r["tier"])} for r in rows]
        with self.transaction():
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO pair_tiers (sha_a, sha_b, tier, product_cosine, score, basis) "
                "VALUES (:sha_a, :sha_b, :tier, :product_cosine, :score, :basis)", rows)

    def tier_of_pairs(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict]:
        """(sha_a, sha_b) -> {tier, product_cosine} for the stored ones among these pairs."""
        out = {}
        for a, b in keys:
            row = self._run(lambda: self.db.execute(
                "SELECT tier, product_cosine FROM pair_tiers WHERE sha_a=? AND sha_b=?", [a, b]).fetchone())
            if row:
                out[(a, b)] = {"tier": row[0], "product_cosine": row[1]}
        return out

    def pairs_of_tier(self, tier: str, below_score: Optional[float] = None) -> list[dict]:
        """Stored pairs of this tier whose both pictures are present, closest products first, with the
        verification's score and evidence where the pair was verified. `below_score` leaves out pairs a lower
        duplicate threshold has made duplicates."""
        sql = ("SELECT t.sha_a, t.sha_b, t.product_cosine, t.score, v.cosine, v.evidence FROM pair_tiers t "
               "LEFT JOIN verified v ON v.sha_a=t.sha_a AND v.sha_b=t.sha_b WHERE t.tier=? "
               "AND EXISTS (SELECT 1 FROM files f WHERE f.sha256=t.sha_a AND f.status='ok') "
               "AND EXISTS (SELECT 1 FROM files f WHERE f.sha256=t.sha_b AND f.status='ok') "
               "ORDER BY t.product_cosine DESC")
        cols = ("sha_a", "sha_b", "product_cosine", "score", "cosine", "evidence")
        rows = [dict(zip(cols, r)) for r in self._run(lambda: self.db.execute(sql, [tier]).fetchall())]
        if below_score is not None:
            rows = [r for r in rows if r["score"] is None or r["score"] < below_score]
        return rows

    def tier_counts(self) -> dict[str, int]:
        return dict(self._run(lambda: self.db.execute("SELECT tier, count(*) FROM pair_tiers GROUP BY tier")
                              .fetchall()))

    def untiered_verified_rows(self, verifier: str):
        """(sha_a, sha_b, score, evidence dict or None), streamed, of the pairs verified by this verifier that have no
        tier yet, or one stored before they were verified."""
        from .catalog import _parse_evidence

        cursor = self._run(lambda: self.db.execute(
            "SELECT v.sha_a, v.sha_b, v.score, v.evidence FROM verified v LEFT JOIN pair_tiers t "
            "ON t.sha_a=v.sha_a AND t.sha_b=v.sha_b WHERE v.verifier=? AND (t.sha_a IS NULL OR t.score IS NULL)",
            [verifier]))
        for a, b, score, evidence in cursor:
            yield a, b, score, _parse_evidence(evidence)

