"""Draw the bundled sample catalogue: synthetic garment packshots that FashionSim may redistribute.

Every picture is drawn here (no photos of anyone's products): garments in several colourways on a white
studio background, with planted duplicates (byte copy, re-encode, crop, mirror, padding, overlay) and one
corrupt file, so that the first run shows every kind of result. Seeded: the output is the same every time.

    python resources/make_sample_catalog.py [OUT]   (default: resources/sample_catalog)
"""
from __future__ import annotations

import random
import shutil
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageOps

W, H = 360, 540
COLOURS = {"red": (178, 34, 40), "navy": (28, 40, 92), "green": (46, 110, 62), "ochre": (196, 150, 40),
           "black": (25, 25, 28), "pink": (226, 140, 170)}


def _pattern(draw: ImageDraw.ImageDraw, rng: random.Random, box, colour, style: str) -> None:
    x0, y0, x1, y1 = box
    light = tuple(min(255, c + 90) for c in colour)
    if style == "stripes":
        step = rng.randint(14, 22)
        for y in range(y0, y1, step):
            draw.rectangle([x0, y, x1, y + step // 3], fill=light)
    elif style == "dots":
        for _ in range(160):
            x, y, r = rng.randint(x0, x1), rng.randint(y0, y1), rng.randint(3, 7)
            draw.ellipse([x - r, y - r, x + r, y + r], fill=light)
    elif style == "checks":
        step = rng.randint(18, 28)
        for x in range(x0, x1, step):
            draw.line([x, y0, x, y1], fill=light, width=3)
        for y in range(y0, y1, step):
            draw.line([x0, y, x1, y], fill=light, width=3)


def garment(kind: str, colour, style: str, seed: int) -> Image.Image:
    rng = random.Random(seed)
    shape = Image.new("L", (W, H), 0)
    d = ImageDraw.Draw(shape)
    if kind == "tshirt":
        d.polygon([(90, 110), (150, 90), (210, 90), (270, 110), (330, 180), (290, 215), (265, 190), (265, 440),
                   (95, 440), (95, 190), (70, 215), (30, 180)], fill=255)
    elif kind == "dress":
        d.polygon([(140, 70), (220, 70), (235, 190), (300, 470), (60, 470), (125, 190)], fill=255)
    elif kind == "trousers":
        d.polygon([(110, 60), (250, 60), (275, 480), (200, 480), (180, 190), (160, 480), (85, 480)], fill=255)
    else:  # jacket
        d.polygon([(100, 90), (180, 110), (260, 90), (320, 160), (310, 450), (50, 450), (40, 160)], fill=255)
    cloth = Image.new("RGB", (W, H), colour)
    _pattern(ImageDraw.Draw(cloth), rng, (0, 0, W, H), colour, style)
    # Folds and seams: soft shading that gives the picture real local detail.
    shade = Image.new("L", (W, H), 0)
    sd = ImageDraw.Draw(shade)
    for _ in range(9):
        x = rng.randint(60, 300)
        sd.line([(x, rng.randint(80, 200)), (x + rng.randint(-40, 40), rng.randint(300, 470))],
                fill=rng.randint(40, 90), width=rng.randint(4, 10))
    shade = shade.filter(ImageFilter.GaussianBlur(4))
    cloth = Image.composite(Image.new("RGB", (W, H), (0, 0, 0)), cloth, shade.point(lambda v: v // 2))
    d2 = ImageDraw.Draw(cloth)
    for _ in range(5):  # buttons / labels
        x, y = rng.randint(150, 210), rng.randint(140, 400)
        d2.ellipse([x - 5, y - 5, x + 5, y + 5], fill=(235, 235, 225))
    out = Image.new("RGB", (W, H), (255, 255, 255))
    out.paste(cloth, (0, 0), shape.filter(ImageFilter.GaussianBlur(1)))
    return out


PRODUCTS = [("tshirt", "stripes"), ("dress", "dots"), ("trousers", "checks"), ("jacket", "stripes"),
            ("tshirt", "dots"), ("dress", "checks")]


def build(out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    (out / "tops").mkdir(parents=True)
    (out / "dresses").mkdir()
    (out / "other").mkdir()
    (out / "incoming").mkdir()
    folder = {"tshirt": "tops", "jacket": "tops", "dress": "dresses", "trousers": "other"}
    names = list(COLOURS)
    made = {}
    for p, (kind, style) in enumerate(PRODUCTS):
        for c in range(3):  # three colourways: similar, never duplicates
            colour_name = names[(p + c * 2) % len(names)]
            im = garment(kind, COLOURS[colour_name], style, seed=100 + p)
            name = f"{folder[kind]}/{kind}-{p:02d}-{colour_name}.jpg"
            im.save(out / name, "JPEG", quality=90)
            made[(p, c)] = (name, im)
    # Planted duplicates of some products, as curators meet them.
    name, im = made[(0, 0)]
    shutil.copyfile(out / name, out / "incoming/copy-of-tshirt.jpg")  # byte copy
    name, im = made[(1, 0)]
    im.save(out / "incoming/dress-reupload.jpg", "JPEG", quality=45)  # heavy re-encode
    name, im = made[(2, 1)]
    im.crop((25, 40, W - 20, H - 30)).save(out / "incoming/trousers-cropped.jpg", "JPEG", quality=90)
    name, im = made[(3, 2)]
    ImageOps.mirror(im).save(out / "incoming/jacket-mirrored.png", "PNG")
    name, im = made[(4, 1)]
    ImageOps.expand(im, border=50, fill=(255, 255, 255)).save(out / "incoming/tshirt-padded.webp", "WEBP", quality=90)
    (out / "incoming/broken-upload.jpg").write_bytes((out / made[(5, 0)][0]).read_bytes()[:600])  # truncated


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "sample_catalog"
    build(target)
    print(f"wrote {sum(1 for _ in target.rglob('*.*'))} files to {target}")
