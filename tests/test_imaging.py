"""Decoding real files: every format in the zoo, and every kind of bad file, with a readable reason."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from fashionsim_desktop.core.imaging import DecodeError, decode, decode_file
from fashionsim_desktop.core.hashing import compute_hashes, hamming

from .conftest import SHARED, hm_image, some_hm_images

ZOO = SHARED / "format_zoo"


@pytest.mark.parametrize("name", ["formats_images/ukbench09380.webp", "formats_images/ukbench09380.bmp",
                                  "formats_images/giphy.gif", "formats_images/copyleft.tiff",
                                  "formats_images/baboon.pgm", "formats_images/marbles.pbm",
                                  "formats_images/Iggy.1024.ppm", "alpha_channel_image.png",
                                  "formats_images/ukbench09380.svg"])
def test_every_zoo_format_decodes_to_small_rgb(name):
    d = decode_file(str(ZOO / name))
    assert d.image.mode == "RGB"
    assert max(d.image.size) <= 256
    assert d.width >= d.image.width and d.height >= d.image.height


def test_jpeg_is_decoded_small_but_reports_full_size():
    d = decode_file(str(hm_image(some_hm_images(1)[0].stem)))
    assert (d.width, d.height) == (360, 540)
    assert d.image.size == (171, 256)


def test_corrupt_jpeg_from_the_zoo_gives_a_reason():
    with pytest.raises(DecodeError, match="not an image|corrupt|truncated"):
        decode_file(str(ZOO / "mixed_images" / "ukbench09268_corrupt.jpg"))


def test_bad_inputs_have_readable_reasons():
    real = some_hm_images(1)[0].read_bytes()
    with pytest.raises(DecodeError, match="empty file"):
        decode(b"")
    with pytest.raises(DecodeError, match="truncated|corrupt"):
        decode(real[: len(real) // 3])
    with pytest.raises(DecodeError, match="not an image"):
        decode(b"hello, I am a text file pretending to be a JPEG\n" * 20)


def test_decompression_bomb_is_refused():
    buf = io.BytesIO()
    Image.new("1", (12000, 12000)).save(buf, "PNG")  # 144 MP, a few KB on disk
    with pytest.raises(DecodeError, match="too large"):
        decode(buf.getvalue())


def test_transparency_is_composited_on_white():
    rgba = Image.new("RGBA", (64, 64), (255, 0, 0, 0))
    buf = io.BytesIO()
    rgba.save(buf, "PNG")
    pixels = np.asarray(decode(buf.getvalue()).image)
    assert pixels.min() >= 250  # fully transparent red is white, not black or red


def test_cmyk_16bit_and_palette_become_rgb():
    src = Image.open(some_hm_images(1)[0]).convert("RGB")
    for mode, fmt in (("CMYK", "JPEG"), ("P", "PNG"), ("L", "PNG")):
        buf = io.BytesIO()
        src.convert(mode).save(buf, fmt)
        assert decode(buf.getvalue()).image.mode == "RGB"
    buf = io.BytesIO()
    Image.fromarray((np.arange(64 * 64).reshape(64, 64) * 15).astype(np.uint16)).save(buf, "PNG")
    d = decode(buf.getvalue())
    assert d.image.mode == "RGB" and np.asarray(d.image).max() > 200  # scaled, not clipped to black/white


def test_exif_orientation_is_applied():
    src = Image.open(some_hm_images(1)[0]).convert("RGB")  # 360 x 540, portrait
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90 degrees on display
    buf = io.BytesIO()
    src.save(buf, "JPEG", exif=exif.tobytes())
    d = decode(buf.getvalue())
    assert (d.width, d.height) == (540, 360)
    assert d.image.width > d.image.height


def test_hashes_are_hex_and_close_for_a_reencode():
    src = Image.open(some_hm_images(1)[0]).convert("RGB")
    buf = io.BytesIO()
    src.save(buf, "JPEG", quality=40)
    a, b = compute_hashes(src), compute_hashes(decode(buf.getvalue()).image)
    assert set(a) == {"phash", "dhash"}
    assert len(a["phash"]) == 16 and int(a["phash"], 16) >= 0
    assert hamming(a["phash"], b["phash"]) <= 6
