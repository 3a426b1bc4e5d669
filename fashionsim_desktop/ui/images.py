"""Pictures for the window: decoded with Pillow off the UI thread, cached as QImage.

Pillow reads every format the core reads (WebP, TIFF, PGM ...), with EXIF orientation and alpha on white;
QImage (unlike QPixmap) may be built on any thread. The cache is keyed by path and bounded by pixel count.
"""
from __future__ import annotations

import io
import threading
from collections import OrderedDict
from typing import Optional

from PIL import Image, ImageOps
from PySide6.QtGui import QImage

from ..core.imaging import MAX_PIXELS, read_image_file, to_rgb_on_white

VIEW_MAX_SIDE = 2400  # larger pictures are shown downscaled; the metadata table gives the real size


def pil_to_qimage(im: Image.Image) -> QImage:
    im = im.convert("RGB")
    data = im.tobytes("raw", "RGB")
    qimage = QImage(data, im.width, im.height, im.width * 3, QImage.Format.Format_RGB888)
    return qimage.copy()  # own the pixels: `data` goes away


def load_qimage(path: str, max_side: int = VIEW_MAX_SIDE) -> Optional[QImage]:
    try:
        # The core's reader: a pipe, a device or a huge file is refused, never read.
        with Image.open(io.BytesIO(read_image_file(path))) as im:
            if im.width * im.height > MAX_PIXELS:
                return None
            if im.format == "JPEG":
                im.draft("RGB", (max_side, max_side))
            im = ImageOps.exif_transpose(im)
            im = to_rgb_on_white(im)
            im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            return pil_to_qimage(im)
    except Exception:  # any unreadable picture shows as "cannot be shown", never an error dialog
        return None


class ImageCache:
    """Thread-safe LRU of decoded pictures, bounded by total pixels."""

    def __init__(self, max_pixels: int = 60_000_000):
        self._items: "OrderedDict[tuple[str, int], QImage]" = OrderedDict()
        self._pixels = 0
        self._max = max_pixels
        self._lock = threading.Lock()

    def get(self, path: str, max_side: int = VIEW_MAX_SIDE) -> Optional[QImage]:
        key = (path, max_side)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        image = load_qimage(path, max_side)
        if image is not None:
            with self._lock:
                self._items[key] = image
                self._pixels += image.width() * image.height()
                while self._pixels > self._max and len(self._items) > 1:
                    _, old = self._items.popitem(last=False)
                    self._pixels -= old.width() * old.height()
        return image

    def peek(self, path: str, max_side: int = VIEW_MAX_SIDE) -> Optional[QImage]:
        with self._lock:
            return self._items.get((path, max_side))
