"""Near duplicates beyond the benchmark generator's ranges: how FashionSim does on edits it was not tuned for.

    python -m benchmarks.stress [--originals N] [--work DIR]

The accuracy benchmark's variants (benchmarks/variants.py) are mild on purpose: they are what the scorer was
fitted and checked on. Curators meet harsher ones, and results are judged on variants nobody here generated.
This builds, from held-out (check-half) H&M products, one variant per original across 13 other kinds (heavier
crops, bigger rotations, harsh JPEG, tiny copies, strong tone changes, greyscale, blur, noise, a watermark
across the garment, squeezed aspect ratios, combined edits, off-centre re-framing, upscaling), runs FashionSim's
CLI on it and prints precision, recall per kind and colourway pairs proposed. Nothing here is tuned on: it is a
check of how the method generalises.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from . import accuracy
from .dataset import _split_of, hm_products

SEED = 99


def _crop_heavy(im, rng):
    w, h = im.size
    cut = lambda: rng.uniform(0.12, 0.22)  # noqa: E731
    return im.crop((int(w * cut()), int(h * cut()), w - int(w * cut()), h - int(h * cut())))


def _rotate_big(im, rng):
    return im.rotate(rng.choice([-1, 1]) * rng.uniform(9, 15), resample=Image.Resampling.BICUBIC, expand=True,
                     fillcolor=(255, 255, 255))


def _tiny(im, rng):
    f = rng.uniform(0.25, 0.4)
    return im.resize((int(im.width * f), int(im.height * f)), Image.Resampling.BICUBIC)


def _tone_strong(im, rng):
    im = ImageEnhance.Brightness(im).enhance(rng.choice([rng.uniform(0.7, 0.8), rng.uniform(1.2, 1.3)]))
    im = ImageEnhance.Contrast(im).enhance(rng.uniform(0.75, 1.35))
    return ImageEnhance.Color(im).enhance(rng.uniform(0.7, 1.3))


def _noise(im, rng):
    noise = np.random.default_rng(rng.randrange(1 << 30)).normal(0, rng.uniform(5, 10), (im.height, im.width, 3))
    return Image.fromarray(np.clip(np.asarray(im, np.float32) + noise, 0, 255).astype(np.uint8))


def _watermark(im, rng):
    layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
    font = ImageFont.load_default(size=int(im.height * 0.08))
    ImageDraw.Draw(layer).text((im.width * 0.1, im.height * 0.45), rng.choice(["SAMPLE", "shop.example", "PREVIEW"]),
                               fill=(255, 255, 255, 110), font=font)
    return Image.alpha_composite(im.convert("RGBA"), layer).convert("RGB")


def _squash(im, rng):
    f = rng.choice([rng.uniform(0.75, 0.88), rng.uniform(1.12, 1.3)])
    return im.resize((int(im.width * f), im.height), Image.Resampling.BICUBIC)


def _combo(im, rng):
    w, h = im.size
    cropped = im.crop((int(w * 0.05), int(h * 0.04), w - int(w * 0.06), h - int(h * 0.05)))
    small = cropped.resize((int(cropped.width * 0.6), int(cropped.height * 0.6)), Image.Resampling.BILINEAR)
    return ImageEnhance.Brightness(small).enhance(rng.uniform(0.9, 1.1))


def _offcentre(im, rng):
    side, below = int(im.width * rng.uniform(0.15, 0.3)), int(im.height * 0.1)
    border = (side, 0, 0, below) if rng.random() < 0.5 else (0, below, side, 0)
    return ImageOps.expand(im, border=border, fill=(255, 255, 255))


def _upscale(im, rng):
    f = rng.uniform(1.5, 2.2)
    return im.resize((int(im.width * f), int(im.height * f)), Image.Resampling.BICUBIC)


KINDS = {
    "crop 12-22%": _crop_heavy, "rotate 9-15°": _rotate_big, "JPEG q 12-25": lambda im, rng: im,
    "tiny 25-40%": _tiny, "strong tone": _tone_strong,
    "greyscale": lambda im, rng: ImageOps.grayscale(im).convert("RGB"),
    "blur": lambda im, rng: im.filter(ImageFilter.GaussianBlur(rng.uniform(1.0, 2.0))), "noise": _noise,
    "watermark": _watermark, "squeezed": _squash, "crop+resize+tone": _combo, "off-centre": _offcentre,
    "upscaled": _upscale,
}


def build(out: Path, originals: int, seed: int = SEED) -> dict:
    """Check-half H&M originals (whole colourway groups), one variant each; labels in the accuracy format."""
    rng = random.Random(seed)
    groups = hm_products()
    codes = sorted(code for code in groups if _split_of(code) == "check")
    rng.shuffle(codes)
    chosen = []
    for code in codes:
        chosen += [(code, path) for path in groups[code]]
        if len(chosen) >= originals:
            break
    (out / "originals").mkdir(parents=True)
    positives, kinds, by_code = [], {}, {}
    for i, (code, path) in enumerate(chosen):
        original = f"originals/{path.name}"
        shutil.copyfile(path, out / original)
        by_code.setdefault(code, []).append(original)
        kind = list(KINDS)[i % len(KINDS)]
        slug = "".join(c if c.isalnum() else "-" for c in kind)
        variant = f"variants/{slug}/{path.stem}.jpg"
        (out / "variants" / slug).mkdir(parents=True, exist_ok=True)
        with Image.open(path) as im:
            edited = KINDS[kind](im.convert("RGB"), rng)
        edited.save(out / variant, "JPEG", quality=rng.randint(12, 25) if kind == "JPEG q 12-25" else 90)
        positives.append((original, variant))
        kinds[f"{original}|{variant}"] = kind
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*.jpg"))
    article_of = {f: f for f in files}
    for original, variant in positives:
        article_of[variant] = original
    labels = {"files": files, "variant_pairs": positives, "kinds": kinds, "reused_pairs": [],
              "sibling_pairs": [(m[i], m[j]) for m in by_code.values() for i in range(len(m))
                                for j in range(i + 1, len(m))],
              "article_of": article_of, "settings": {"seed": seed, "originals": originals, "split": "check"}}
    (out / "labels.json").write_text(json.dumps(labels))
    return labels


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--originals", type=int, default=520)
    parser.add_argument("--work", type=Path, default=Path("/tmp/fashionsim-stress"))
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    shutil.rmtree(args.work, ignore_errors=True)
    labels = build(args.work / "set", args.originals, args.seed)
    (args.work / "run").mkdir()
    result = accuracy.tool_fashionsim(args.work / "set", args.work / "run")
    result.update(seconds=0.0, peak_mb=0.0)
    m = accuracy.evaluate(result, labels, accuracy.truth_groups(labels))
    print(f"{len(labels['files'])} pictures, {m['true_pairs']} true pairs, {m['sibling_pairs']} colourway pairs; "
          f"seed {args.seed}")
    print(f"FashionSim at its default threshold: precision {m['precision']:.3f}, recall {m['recall']:.3f}, "
          f"colourway pairs proposed {m['siblings_proposed']}")
    print("recall per kind: " + ", ".join(f"{k} {v:.2f}" for k, v in m["recall_per_kind"].items()
                                          if v is not None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
