"""The ONNX embedding model: locate it, identify it, preprocess and run it in batches with onnxruntime."""
from __future__ import annotations

import hashlib
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from .errors import ModelError
from .imaging import square_on_white

MODEL_FILENAME = "fashionsim-embedder.onnx"
INPUT_SIZE = 224
MODEL_ENV = "FASHIONSIM_MODEL"


def default_model_path() -> Path:
    """$FASHIONSIM_MODEL, else models/ inside a frozen app, else models/ beside the package checkout."""
    if os.environ.get(MODEL_ENV):
        return Path(os.environ[MODEL_ENV])
    if getattr(sys, "frozen", False):
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "models" / MODEL_FILENAME
    return Path(__file__).resolve().parents[2] / "models" / MODEL_FILENAME


@lru_cache(maxsize=8)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_id(path: Path) -> str:
    """Identity of a model file: a catalogue embedded with another model must be re-embedded."""
    if not path.is_file():
        raise ModelError(
            f"The embedding model is missing: {path}. Run the set-up again "
            "(it exports the model with: python models/export_onnx.py)."
        )
    st = path.stat()
    return _file_sha256(str(path), st.st_size, st.st_mtime_ns)[:16]


def preprocess(images: Sequence[Image.Image]) -> np.ndarray:
    """RGB images -> float32 NCHW pixels 0..255 (the model scales them itself)."""
    # Written straight into the batch: one converting copy per picture instead of three (float, stack,
    # transpose), which cost about as much as decoding the picture.
    batch = np.empty((len(images), 3, INPUT_SIZE, INPUT_SIZE), dtype=np.float32)
    for row, im in zip(batch, images):
        row[...] = np.asarray(square_on_white(im, INPUT_SIZE)).transpose(2, 0, 1)
    return batch


class Embedder:
    """One onnxruntime session. Create one per process; `threads` is onnxruntime's intra-op pool size."""

    def __init__(self, path: Path | None = None, threads: int = 1):
        import onnxruntime as ort

        self.path = Path(path) if path else default_model_path()
        self.model_id = model_id(self.path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"The embedding model {self.path} could not be loaded: {exc}") from exc
        self.dim = int(self.session.get_outputs()[0].shape[1])

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        """L2-normalised float32 embeddings, one row per image."""
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self.session.run(None, {"pixels": preprocess(images)})[0].astype(np.float32)
        out /= np.linalg.norm(out, axis=1, keepdims=True) + 1e-12
        return out
