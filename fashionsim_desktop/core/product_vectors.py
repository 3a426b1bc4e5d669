"""Product vectors: the stored picture embedding mapped to a vector in which a product's colourways and other
shots lie close, and products of the same type closer than products of other types.

The product head is a small ONNX model (one linear map and a normalisation, `models/product_head.py` fits it)
that reads only the 1600-d embedding the catalogue already stores: a catalogue gains product vectors without
decoding a picture again, and indexing does not get slower. Finding copies of one photo keeps using the raw
embedding; product vectors serve the `variant` and `similar` tiers (`core/tiers.py`).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from .embedder import _file_sha256  # the same cached file digest the embedding model's identity uses
from .errors import ModelError

HEAD_FILENAME = "fashionsim-product-head.onnx"
HEAD_ENV = "FASHIONSIM_PRODUCT_HEAD"
# Metadata the recipe writes into the head: the identity (model_id) of the embedding model it was fitted on.
EMBEDDER_ID_KEY = "fashionsim.embedder_id"
ENCODE_BATCH = 16_384  # rows per run: onnxruntime's working copies stay near 100 MB for any catalogue size

# Tier thresholds on the cosine of two product vectors, for pictures that are NOT the same photo. Read by
# `python models/product_head.py` on the benchmark's tune half only, from out-of-fold scores (each third of the
# tune products scored by a head fitted on the other two thirds, among each picture's 10 nearest), then
# measured on the held-out check half by `python -m benchmarks.similar` (models/README.md, "Product head").
# VARIANT_COSINE: the lowest cosine at which at least half of the H&M pairs above it share a product_code
# (tune 0.51; check 0.30, finding 0.21 of all colourways). A colourway and a look-alike product of the same
# type overlap widely in cosine, so this tier is a suggestion to look at, never a decision.
VARIANT_COSINE = 0.89
# SIMILAR_COSINE: the lowest cosine at which at least 85% of the pairs above it are the same product type
# (tune 0.85; check 0.80, about 4.6 such neighbours per picture).
SIMILAR_COSINE = 0.815


def default_head_path() -> Path:
    """$FASHIONSIM_PRODUCT_HEAD, else models/ inside a frozen app, else models/ beside the package checkout."""
    if os.environ.get(HEAD_ENV):
        return Path(os.environ[HEAD_ENV])
    if getattr(sys, "frozen", False):
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "models" / HEAD_FILENAME
    return Path(__file__).resolve().parents[2] / "models" / HEAD_FILENAME


def _missing(path: Path) -> ModelError:
    return ModelError(
        f"The product model is missing: {path}. It ships with FashionSim; reinstall it, or rebuild the file "
        "with: python models/product_head.py"
    )


def head_id(path: Path) -> str:
    """Identity of a product head file: product vectors made by another head must be made again."""
    path = Path(path)
    if not path.is_file():
        raise _missing(path)
    st = path.stat()
    return _file_sha256(str(path), st.st_size, st.st_mtime_ns)[:16]


class ProductEncoder:
    """One onnxruntime session of the product head: `encode(embeddings)` -> unit-length product vectors."""

    def __init__(self, path: Path | None = None, threads: int = 1):
        import onnxruntime as ort

        self.path = Path(path) if path else default_head_path()
        self.head_id = head_id(self.path)  # a clear message when the file is missing
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"The product model {self.path} could not be loaded: {exc}") from exc
        self.input_dim = int(self.session.get_inputs()[0].shape[1])
        self.dim = int(self.session.get_outputs()[0].shape[1])
        # The embedding model the head was fitted on ("" if the file does not say).
        self.embedder_id = self.session.get_modelmeta().custom_metadata_map.get(EMBEDDER_ID_KEY, "")

    def encode(self, embeddings: np.ndarray) -> np.ndarray:
        """Stored embeddings [N, 1600] -> float32 product vectors [N, dim], unit length (N may be 0)."""
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or embeddings.shape[1] != self.input_dim:
            raise ValueError(f"expected embeddings of shape [N, {self.input_dim}], got {list(embeddings.shape)}")
        out = np.empty((len(embeddings), self.dim), dtype=np.float32)
        for start in range(0, len(embeddings), ENCODE_BATCH):
            batch = np.ascontiguousarray(embeddings[start:start + ENCODE_BATCH])
            out[start:start + len(batch)] = self.session.run(None, {"embedding": batch})[0]
        return out
