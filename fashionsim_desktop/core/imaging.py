"""Decode an image once, small and upright, with a reason when it cannot be decoded.

Every feature (hashes, embedding, verification thumbnail) is computed from one `Decoded` working copy:
JPEGs are decoded with draft mode (DCT scaling) straight to about the working size, EXIF orientation is
applied, transparency is composited on white and every mode (CMYK, 16-bit, palette, grey, 1-bit) ends as RGB.
"""
from __future__ import annotations

import io
import os
import stat
import warnings
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

# Larger images are refused as decompression bombs; 120 MP covers any real product photo.
MAX_PIXELS = 120_000_000
WORK_SIZE = 256  # long side of the working copy every feature is computed from
# Files above this are refused unread: image bytes are held in memory whole, so a 4 GB file would cost 4 GB.
MAX_FILE_BYTES = 512 * 2**20

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False


class DecodeError(Exception):
    """The file is not a readable image; str() is the reason shown to the curator."""


class UnsafeFile(DecodeError, OSError):
    """Refused before reading: not a regular file, or too large. An OSError too, for callers that read bytes."""


def size_text(n: int) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def too_large_reason(size: int) -> str:
    return f"file too large ({size_text(size)}, limit {size_text(MAX_FILE_BYTES)})"


def not_regular_reason(mode: int) -> str | None:
    """Why a file of this mode cannot be read as an image, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    kind = ("a named pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a folder" if stat.S_ISDIR(mode)
            else "an unusual kind of file")
    return f"not a regular file ({kind})"


def open_regular(path: str | bytes | os.PathLike) -> tuple[BinaryIO, int]:
    """(open file, size) of a regular file; UnsafeFile for anything else. Never blocks on a pipe."""
    reason = not_regular_reason(os.stat(path).st_mode)  # before opening: opening a device can have effects
    if reason:
        raise UnsafeFile(reason)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)  # the file really opened, which may have been swapped since the stat
        reason = not_regular_reason(st.st_mode)
    except BaseException:
        os.close(fd)
        raise
    if reason:
        os.close(fd)
        raise UnsafeFile(reason)
    return os.fdopen(fd, "rb"), st.st_size


def read_image_file(path: str | bytes | os.PathLike) -> bytes:
    """The bytes of an image file, never more than MAX_FILE_BYTES; UnsafeFile with a reason otherwise."""
    fh, size = open_regular(path)
    with fh:
        if size > MAX_FILE_BYTES:
            raise UnsafeFile(too_large_reason(size))
        data = fh.read(size + 1)  # one buffer of the known size; the extra byte notices a file still growing
        if len(data) > size:
            data += fh.read(MAX_FILE_BYTES + 1 - len(data))
    if len(data) > MAX_FILE_BYTES:
        raise UnsafeFile(too_large_reason(len(data)))
    return data


@dataclass
class Decoded:
    image: Image.Image  # RGB, long side <= WORK_SIZE
    width: int  # full size, after EXIF orientation
    height: int
    format: str


def to_rgb_on_white(im: Image.Image) -> Image.Image:
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit greyscale: scale the real range to 8 bits instead of clipping.
        lo, hi = im.getextrema()
        scale = 255.0 / (hi - lo) if hi > lo else 1.0
        im = im.point(lambda v: (v - lo) * scale).convert("L")
    elif im.mode == "F":
        im = im.convert("L")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if im.mode != "RGB":
        im = im.convert("RGB")  # CMYK, YCbCr, L, 1 ...
    return im


def decode(data: bytes, work_size: int = WORK_SIZE) -> Decoded:
    """Decode image bytes to a small RGB working copy. Raises DecodeError with a readable reason."""
    if not data:
        raise DecodeError("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            fmt = im.format or "unknown"
            full_w, full_h = im.size
            if full_w * full_h > MAX_PIXELS:
                raise DecodeError(f"image too large ({full_w}x{full_h} pixels, limit {MAX_PIXELS // 1_000_000} MP)")
            if fmt == "JPEG":
                im.draft("RGB", (work_size, work_size))
            orientation = im.getexif().get(0x0112, 1) if hasattr(im, "getexif") else 1
            im.load()
            im = ImageOps.exif_transpose(im) if orientation != 1 else im
            if orientation in (5, 6, 7, 8):
                full_w, full_h = full_h, full_w
            im = to_rgb_on_white(im)
            im.thumbnail((work_size, work_size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    except DecodeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DecodeError(f"image too large to open safely ({exc})") from None
    except UnidentifiedImageError:
        raise DecodeError("not an image, or an image format FashionSim cannot read") from None
    except OSError as exc:
        text = str(exc)
        if "truncated" in text.lower() or "broken data stream" in text:
            raise DecodeError("truncated image: the file ends before the picture does") from None
        raise DecodeError(f"corrupt image data ({text})") from None
    except (ValueError, SyntaxError, EOFError, IndexError, TypeError, ZeroDivisionError, MemoryError) as exc:
        raise DecodeError(f"corrupt image data ({type(exc).__name__}: {exc})") from None
    return Decoded(image=im, width=full_w, height=full_h, format=fmt)


def decode_file(path: str, work_size: int = WORK_SIZE) -> Decoded:
    return decode(read_image_file(path), work_size)


def square_on_white(im: Image.Image, size: int) -> Image.Image:
    """Pad to a square on white (packshot background), then resize: the whole garment stays in view."""
    w, h = im.size
    side = max(w, h)
    canvas = Image.new("RGB", (side, side), (255, 255, 255))
    canvas.paste(im, ((side - w) // 2, (side - h) // 2))
    return canvas.resize((size, size), Image.Resampling.BILINEAR)


def thumbnail_jpeg(im: Image.Image, size: int, quality: int = 90) -> bytes:
    thumb = im.copy()
    thumb.thumbnail((size, size), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=quality)
    return buf.getvalue()
