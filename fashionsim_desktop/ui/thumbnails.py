"""Thumbnails: the icon grid whose size follows the Thumbnail size setting, and small pictures for delegates.

Pictures are always decoded by the session's background loader (CatalogSession.load_images); this module only
asks for them, keeps the results and paints them. Sizes are logical pixels: pictures are loaded at the screen's
device pixel ratio so they stay sharp at 150 % and 200 %.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Optional

import shiboken6
from PySide6.QtCore import QObject, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QListView

PICTURE_ASPECT = 2 / 3  # width / height of a catalogue packshot: a thumbnail box of that shape wastes no room


class ThumbnailGrid(QListView):
    """An icon-mode view: fixed grid cells that reflow with the width, captions wrapped under the picture."""

    def __init__(self, parent, model, thumb: int, caption_height: int):
        super().__init__(parent)
        self.caption_height = caption_height
        self.setModel(model)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setWordWrap(True)
        self.set_thumbnail_size(thumb)

    def set_thumbnail_size(self, thumb: int) -> None:
        self.setIconSize(QSize(thumb, thumb))
        self.setGridSize(QSize(thumb + 30, thumb + self.caption_height))
        model = self.model()
        while model is not None and not hasattr(model, "set_thumbnail_size"):  # through the filter proxies
            model = getattr(model, "sourceModel", lambda: None)()
        if model is not None:
            model.set_thumbnail_size(thumb)


def load_side(logical: int, widget) -> int:
    """The pixel size to decode a picture at for a box of `logical` pixels on `widget`'s screen."""
    return max(16, round(logical * (widget.devicePixelRatioF() if widget is not None else 1.0)))


def draw_thumbnail(painter: QPainter, box: QRect, pixmap: Optional[QPixmap], palette: QPalette) -> None:
    """The picture fitted and centred in `box`; until it arrives, a quiet placeholder of the box's shape."""
    if pixmap is None or pixmap.isNull():
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        placeholder = QColor(palette.color(QPalette.ColorRole.Mid))
        placeholder.setAlphaF(0.35)
        painter.setBrush(placeholder)
        painter.drawRect(box)
        painter.restore()
        return
    size = pixmap.deviceIndependentSize().toSize().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
    target = QRect(0, 0, size.width(), size.height())
    target.moveCenter(box.center())
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    painter.drawPixmap(target, pixmap)
    painter.restore()


class ThumbnailStore(QObject):
    """Small pictures by absolute path for views that paint their own cells (the pair queue, the group strips).

    `pixmap(path)` answers at once: the picture, or None while it is being loaded in the background; `arrived`
    tells the view to paint again. Requests made during one round of painting go to the loader together, and at
    most `limit` pictures are kept (least recently painted first out), so scrolling through 100,000 pairs neither
    loads nor keeps them all."""

    arrived = Signal()

    def __init__(self, session_of: Callable[[], object], parent=None, limit: int = 1500):
        super().__init__(parent)
        self.session_of = session_of
        self.limit = limit
        self.side = 0  # pixels the pictures are decoded at
        self.ratio = 1.0  # their device pixel ratio
        self._pixmaps: "OrderedDict[str, Optional[QPixmap]]" = OrderedDict()  # None: could not be read
        self._asked: set[str] = set()
        self._wanted: list[str] = []
        self._later = QTimer(self)  # owned: it goes with the view, never fires on a deleted one
        self._later.setSingleShot(True)
        self._later.timeout.connect(self._ask)

    def configure(self, side: int, ratio: float) -> None:
        """Decode at `side` pixels for a screen of this device pixel ratio; a change forgets what was loaded."""
        if (side, ratio) != (self.side, self.ratio):
            self.side, self.ratio = side, ratio
            self._pixmaps.clear()
            self._asked.clear()

    def pixmap(self, path: str) -> Optional[QPixmap]:
        if path in self._pixmaps:
            self._pixmaps.move_to_end(path)
            return self._pixmaps[path]
        if path not in self._asked and self.side:
            self._asked.add(path)
            self._wanted.append(path)
            self._later.start(0)  # one request per round of painting, not one per cell
        return None

    def _ask(self) -> None:
        wanted, self._wanted = self._wanted, []
        session = self.session_of()
        if not wanted or session is None:
            self._asked.difference_update(wanted)  # asked again when painted again
            return
        side, ratio = self.side, self.ratio
        # A view closed while its pictures were loading has no store left to hand them to.
        session.load_images(wanted, lambda images: shiboken6.isValid(self) and self._loaded(side, ratio, images),
                            max_side=side)

    def _loaded(self, side: int, ratio: float, images: dict) -> None:
        if (side, ratio) != (self.side, self.ratio):
            return  # loaded for another size
        for path, image in images.items():
            self._asked.discard(path)
            pixmap = None
            if image is not None:
                pixmap = QPixmap.fromImage(image)
                pixmap.setDevicePixelRatio(ratio)
            self._pixmaps[path] = pixmap
        while len(self._pixmaps) > self.limit:
            self._pixmaps.popitem(last=False)
        self.arrived.emit()
