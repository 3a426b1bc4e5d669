"""Are thumbnails of a packshot found as its duplicates? (They are not among the accuracy benchmark's variants.)

    python -m benchmarks.thumbnails [--split check|tune] [--originals N]

For N H&M products of one half (the first photo of each), a JPEG copy at 100, 130 and 170 px on the long side
is verified against the original; prints the share scored at or above the default threshold per size.
"""
from __future__ import annotations

import argparse
import io

import numpy as np
from PIL import Image

from fashionsim_desktop.core.imaging import decode, decode_file
from fashionsim_desktop.core.pairs import DEFAULT_MIN_SCORE, score
from fashionsim_desktop.core.verify import Prepared, verify

from .dataset import _split_of, hm_products

SIDES = (100, 130, 170)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["check", "tune"], default="check")
    parser.add_argument("--originals", type=int, default=150)
    args = parser.parse_args(argv)
    groups = hm_products()
    paths = [groups[code][0] for code in sorted(groups) if _split_of(code) == args.split][:args.originals]
    found = {side: 0 for side in SIDES}
    for path in paths:
        original = Prepared(np.asarray(decode_file(str(path)).image))
        with Image.open(path) as im:
            rgb = im.convert("RGB")
        for side in SIDES:
            thumb = rgb.copy()
            thumb.thumbnail((side, side), Image.Resampling.LANCZOS)
            buf = io.BytesIO()
            thumb.save(buf, "JPEG", quality=85)
            copy = Prepared(np.asarray(decode(buf.getvalue()).image))
            found[side] += score(verify(original, copy)) >= DEFAULT_MIN_SCORE
    print(f"{len(paths)} H&M originals ({args.split} half), thumbnail found as a duplicate at score >= {DEFAULT_MIN_SCORE}:")
    for side in SIDES:
        print(f"  {side} px: {found[side] / len(paths):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
