"""The ONNX embedding model: locate it, identify it, preprocess and run it in batches with onnxruntime.

The shipped model is int8 (about twice as fast on a CPU). Its arithmetic is exact only where the CPU has
8-bit dot-product instructions (VNNI on x86); older x86 CPUs saturate 16-bit intermediate sums and the
embeddings drift far from the float model's (cosine 0.77-0.94 on packshots, measured under an emulated
Haswell). So before a model is used (`Embedder`, `runnable_model`), it is run once on a fixed reference picture
and the result compared with the float embedding the export recorded in the model; where they disagree, the
float twin exported beside it is used instead.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from .errors import ModelError
from .imaging import square_on_white

MODEL_FILENAME = "fashionsim-embedder.onnx"
INPUT_SIZE = 224
MODEL_ENV = "FASHIONSIM_MODEL"
# Metadata the export writes into a quantised model: the file name of its float twin (same folder) and the
# float model's embedding of reference_pixels().
FLOAT_TWIN_KEY = "fashionsim.float_twin"
REFERENCE_KEY = "fashionsim.reference_embedding"
FAITHFUL_COSINE = 0.98  # measured: 0.996 on a VNNI CPU, 0.87 on an emulated Haswell

log = logging.getLogger(__name__)


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


def reference_pixels() -> np.ndarray:
    """A fixed 1 x 3 x 224 x 224 input: a textured oval on a white studio background, like a packshot.

    White (255) beside strong activations is what saturates int8 sums on CPUs without VNNI.
    """
    rng = np.random.default_rng(2026)
    pixels = np.full((1, 3, INPUT_SIZE, INPUT_SIZE), 255.0, dtype=np.float32)
    yy, xx = np.mgrid[0:INPUT_SIZE, 0:INPUT_SIZE]
    garment = ((xx - 112) / 70.0) ** 2 + ((yy - 120) / 95.0) ** 2 < 1.0
    texture = rng.uniform(0, 255, (3, 28, 28)).repeat(8, axis=1).repeat(8, axis=2).astype(np.float32)
    pixels[0][:, garment] = texture[:, garment]
    return pixels


def _session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelError(f"The embedding model {path} could not be loaded: {exc}") from exc


def _faithful(session) -> tuple[bool, Optional[str]]:
    """(whether the model reproduces its recorded reference embedding here, its float twin's file name)."""
    meta = session.get_modelmeta().custom_metadata_map
    if REFERENCE_KEY not in meta:
        return True, None  # a float model: nothing to check
    expected = np.asarray(json.loads(meta[REFERENCE_KEY]), dtype=np.float32)
    got = session.run(None, {"pixels": reference_pixels()})[0][0]
    cosine = float(expected @ got / (np.linalg.norm(expected) * np.linalg.norm(got) + 1e-12))
    return cosine >= FAITHFUL_COSINE, meta.get(FLOAT_TWIN_KEY)


def _float_twin(path: Path, twin: Optional[str]) -> Path:
    """The float model to use instead of `path`, which this CPU cannot run exactly."""
    twin_path = path.with_name(twin) if twin else None
    if twin_path is None or not twin_path.is_file():
        raise ModelError(
            f"This computer's processor cannot run the fast embedding model {path} exactly, and its float "
            f"version {twin_path or '(not named)'} is missing. Run the set-up again (python models/export_onnx.py)."
        )
    log.info("int8 model %s is not exact on this CPU; using its float twin %s", path, twin_path)
    return twin_path


@lru_cache(maxsize=8)
def _runnable(path: str, size: int, mtime_ns: int) -> str:
    ok, twin = _faithful(_session(Path(path), threads=1))
    return path if ok else str(_float_twin(Path(path), twin))


def runnable_model(path: Path | None = None) -> Path:
    """The model to use here: `path` (default: the shipped int8 model), or its float twin where this CPU's
    int8 arithmetic does not reproduce the export's reference embedding. Checked once per file and process."""
    path = Path(path) if path else default_model_path()
    model_id(path)  # a clear message when the file is missing
    st = path.stat()
    return Path(_runnable(str(path), st.st_size, st.st_mtime_ns))


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
        # The same check as runnable_model(), made on this session itself: a worker loads one model, not two.
        self.path = Path(path) if path else default_model_path()
        model_id(self.path)  # a clear message when the file is missing
        self.session = _session(self.path, threads)
        ok, twin = _faithful(self.session)
        if not ok:
            self.path = _float_twin(self.path, twin)
            self.session = _session(self.path, threads)
        self.model_id = model_id(self.path)
        self.dim = int(self.session.get_outputs()[0].shape[1])

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        """L2-normalised float32 embeddings, one row per image."""
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self.session.run(None, {"pixels": preprocess(images)})[0].astype(np.float32)
        out /= np.linalg.norm(out, axis=1, keepdims=True) + 1e-12
        return out
