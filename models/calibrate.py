"""Measure the int8 activation ranges of the embedder on real packshots and write models/int8-ranges.json.

A developer's step, not the set-up's: it reads pictures from ../shared/data (never shipped) and only the
ranges it measures are committed. The pictures are the *tune* half of the benchmark's products (the same
split the scorer was fitted on), so the held-out check half stays unseen.

    python models/calibrate.py [--hm 96] [--myntra 32] [--seed 2026]
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.dataset import _split_of, hm_products, myntra_products  # noqa: E402
from fashionsim_desktop.core.embedder import preprocess  # noqa: E402
from fashionsim_desktop.core.imaging import decode_file  # noqa: E402

import export_onnx  # noqa: E402
import int8  # noqa: E402

BATCH = 16


def tune_pictures(hm: int, myntra: int, seed: int) -> list[Path]:
    rng = random.Random(seed)
    chosen = []
    for products, count in ((hm_products(), hm), (myntra_products(), myntra)):
        paths = sorted(p for code, ps in products.items() if _split_of(code) == "tune" for p in ps)
        chosen += rng.sample(paths, count)
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hm", type=int, default=96)
    parser.add_argument("--myntra", type=int, default=32)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    pictures = tune_pictures(args.hm, args.myntra, args.seed)
    # The same decoding and preprocessing the app uses, so the ranges are those the model will meet.
    batches = (preprocess([decode_file(str(p)).image for p in pictures[i:i + BATCH]])
               for i in range(0, len(pictures), BATCH))
    with tempfile.TemporaryDirectory(prefix="fashionsim-calibrate-") as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        export_onnx.export_fp32(fp32)
        ranges = int8.measure_ranges(fp32, batches)
    int8.save_ranges(ranges)
    print(f"wrote {int8.RANGES_FILE} ({len(ranges)} tensors, from {len(pictures)} tune-half pictures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
