"""The int8 embedder against the float one it was quantised from: speed, and how far the embeddings move.

    python -m benchmarks.int8 [--pictures N]   (needs torch: the float model is exported to a temporary file)

Pictures are the benchmark's held-out *check* half of the H&M products plus Myntra photos of the same split
(the int8 ranges were measured on the tune half). Prints inference images/second for both models on 1 and 2
threads, the cosine between each picture's float and int8 embedding, and how much the cosine between two
pictures moves (all pairs, and the pairs close enough to be candidates: float cosine >= 0.84). Then the same
float-to-int8 cosine on pictures unlike those the ranges were measured on: format_zoo's object photos, and
packshots put on a saturated colour background, inverted, or contrast-stretched.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BATCH = 16


def check_half_pictures(n: int, seed: int = 11) -> list[Path]:
    from .dataset import _split_of, hm_products, myntra_products

    paths = []
    for products in (hm_products(), myntra_products()):
        paths += sorted(p for code, ps in products.items() if _split_of(code) == "check" for p in ps)
    return random.Random(seed).sample(paths, min(n, len(paths)))


def unlike_calibration(packshots: list, seed: int = 0) -> list:
    """Pictures outside the calibration set's range of looks (object photos; packshots far from studio white)."""
    from PIL import Image, ImageOps

    from fashionsim_desktop.core.imaging import decode_file

    rng = random.Random(seed)

    def on_colour(im):
        pixels = np.asarray(im).copy()
        pixels[pixels.min(axis=2) > 230] = [rng.randrange(256) for _ in range(3)]
        return Image.fromarray(pixels)

    zoo = sorted((REPO.parent / "shared" / "data" / "format_zoo" / "base_images").glob("*.jpg"))
    return ([decode_file(str(p)).image for p in zoo] + [on_colour(im) for im in packshots[:48]]
            + [ImageOps.invert(im) for im in packshots[48:72]]
            + [ImageOps.autocontrast(im, cutoff=5) for im in packshots[72:96]])


def embed_all(model: Path, batches: list[np.ndarray], threads: int) -> tuple[np.ndarray, float]:
    from fashionsim_desktop.core.embedder import _session  # the app's own session settings

    session = _session(model, threads)
    session.run(None, {"pixels": batches[0]})  # warm-up
    start = time.perf_counter()
    out = np.concatenate([session.run(None, {"pixels": b})[0] for b in batches])
    rate = len(out) / (time.perf_counter() - start)
    return out / np.linalg.norm(out, axis=1, keepdims=True), rate


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", type=int, default=512)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO / "models"))
    import export_onnx

    from fashionsim_desktop.core.embedder import default_model_path, preprocess
    from fashionsim_desktop.core.imaging import decode_file
    from fashionsim_desktop.core.pairs import CANDIDATE_COSINE

    pictures = check_half_pictures(args.pictures)
    images = [decode_file(str(p)).image for p in pictures]
    batches = [preprocess(images[i:i + BATCH]) for i in range(0, len(images), BATCH)]
    unusual = unlike_calibration(images)
    unusual_batches = [preprocess(unusual[i:i + BATCH]) for i in range(0, len(unusual), BATCH)]
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        export_onnx.export_fp32(fp32)
        results = {}
        for name, model in (("float32", fp32), ("int8", default_model_path())):
            for threads in (1, 2):
                vectors, rate = embed_all(model, batches, threads)
                print(f"{name:8s} {threads} thread(s), batch {BATCH}: {rate:6.1f} images/s")
            results[name] = vectors
            results[name + " unusual"] = embed_all(model, unusual_batches, 2)[0]
    cosines = (results["float32"] * results["int8"]).sum(axis=1)
    print(f"{len(pictures)} held-out pictures: cosine(float, int8) min {cosines.min():.4f}, 1st percentile "
          f"{np.percentile(cosines, 1):.4f}, median {np.median(cosines):.4f}")
    unusual_cosines = (results["float32 unusual"] * results["int8 unusual"]).sum(axis=1)
    print(f"{len(unusual)} pictures unlike the calibration set: cosine(float, int8) min {unusual_cosines.min():.4f}, "
          f"5th percentile {np.percentile(unusual_cosines, 5):.4f}, median {np.median(unusual_cosines):.4f}")
    upper = np.triu_indices(len(pictures), k=1)
    before = (results["float32"] @ results["float32"].T)[upper]
    after = (results["int8"] @ results["int8"].T)[upper]
    near = before >= CANDIDATE_COSINE
    print(f"cosine between two pictures: correlation float vs int8 {np.corrcoef(before, after)[0, 1]:.4f} over "
          f"{len(before)} pairs; on the {near.sum()} pairs at float cosine >= {CANDIDATE_COSINE}, it moves by "
          f"{np.abs(after - before)[near].mean():.4f} on average ({np.abs(after - before)[near].max():.4f} at most)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
