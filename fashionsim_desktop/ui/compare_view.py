"""Side-by-side comparison of two pictures with zoom and pan kept in step, flicker and difference views.

Zoom is one shared factor: in "fit" mode each picture is fitted to its pane and then zoomed by it; in
"same scale" mode both are shown at that factor of their own pixels (so a half-size copy looks half size).
Panning one pane moves the other to the same relative position, which keeps them in step even when the
two pictures differ in size. A pane that changes size (the window, either splitter) fits its picture again, and a
line above the pictures says which view is on. Why the two were paired is a sentence, with the numbers in a
"Details" fold under it (evidence_view.py).
"""
from __future__ import annotations

import html
from typing import Optional

import numpy as np
from PySide6.QtCore import QEvent, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QImage, QPainter, QPalette, QPixmap, QTransform
from PySide6.QtWidgets import (QAbstractItemView, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QHeaderView,
                               QLabel, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from .evidence_view import EvidencePanel
from .palette import KEEPER_HUE, accent, blend, different_colour, secondary_text

FIT, SAME_SCALE = "fit", "same"
SIDE_BY_SIDE, FLICKER, DIFFERENCE = "side", "flicker", "difference"
FLICKER_MS = 500
DISPLAY_WORDS = {SIDE_BY_SIDE: "Side by side",
                 FLICKER: "Flicker: the right pane swaps B and A every {seconds:g} s (now {shown})",
                 DIFFERENCE: "Difference: the right pane is dark where A and B differ, white where they agree"}
MODE_WORDS = {FIT: "fitted to the panes", SAME_SCALE: "same scale (pixel for pixel)"}


def caption_html(palette: QPalette, side: str, name: str, folder: str, note: str = "") -> str:
    """A picture's caption: "A: name" in bold, an optional note ("★ suggested keeper") and the folder under it, in
    colours taken from `palette` so both read at AA contrast in light and dark."""
    window, text = palette.color(QPalette.ColorRole.Window), palette.color(QPalette.ColorRole.WindowText)
    note_html = (f" <span style='color:{accent(KEEPER_HUE, window, text).name()}'>{html.escape(note)}</span>"
                 if note else "")
    return (f"<b>{side}: {html.escape(name)}</b>{note_html}"
            f"<br><span style='color:{secondary_text(palette).name()}'>{html.escape(folder)}</span>")


class ImagePane(QGraphicsView):
    """One picture; emits `panned` when the user scrolls it, `wheelZoom` on Ctrl+wheel or wheel, and `resized` when
    its size changes (so the picture can be fitted again)."""

    panned = Signal(float, float)
    wheelZoom = Signal(float)
    resized = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.item = QGraphicsPixmapItem()
        self.item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self.item)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self._follow_palette()
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.image_size = (0, 0)
        self._quiet = False
        self.horizontalScrollBar().valueChanged.connect(self._emit_pan)
        self.verticalScrollBar().valueChanged.connect(self._emit_pan)

    def set_image(self, image: Optional[QImage]) -> None:
        if image is None or image.isNull():
            self.item.setPixmap(QPixmap())
            self.image_size = (0, 0)
            return
        self.item.setPixmap(QPixmap.fromImage(image))
        self.image_size = (image.width(), image.height())
        self.scene().setSceneRect(QRectF(0, 0, image.width(), image.height()))

    def fit_scale(self) -> float:
        w, h = self.image_size
        if not w or not h:
            return 1.0
        view = self.viewport().size()
        return max(0.01, min((view.width() - 4) / w, (view.height() - 4) / h))

    def apply_scale(self, scale: float) -> None:
        self._quiet = True
        self.setTransform(QTransform.fromScale(scale, scale))
        self._quiet = False

    def scale_factor(self) -> float:
        return self.transform().m11()

    def pan_fraction(self) -> tuple[float, float]:
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        fx = (h.value() - h.minimum()) / (h.maximum() - h.minimum()) if h.maximum() > h.minimum() else 0.5
        fy = (v.value() - v.minimum()) / (v.maximum() - v.minimum()) if v.maximum() > v.minimum() else 0.5
        return fx, fy

    def set_pan_fraction(self, fx: float, fy: float) -> None:
        self._quiet = True
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(round(h.minimum() + fx * (h.maximum() - h.minimum())))
        v.setValue(round(v.minimum() + fy * (v.maximum() - v.minimum())))
        self._quiet = False

    def _emit_pan(self) -> None:
        if not self._quiet:
            self.panned.emit(*self.pan_fraction())

    def wheelEvent(self, event) -> None:
        self.wheelZoom.emit(1.25 if event.angleDelta().y() > 0 else 0.8)
        event.accept()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.resized.emit()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._follow_palette()

    def _follow_palette(self) -> None:
        """A backdrop a little off the window colour: white packshots keep an edge in light and dark."""
        palette = self.palette()
        self.setBackgroundBrush(QBrush(blend(palette.color(QPalette.ColorRole.Window),
                                             palette.color(QPalette.ColorRole.Mid), 0.35)))


def _to_array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    ptr = image.constBits()
    arr = np.frombuffer(ptr, np.uint8, count=image.sizeInBytes()).reshape(image.height(), image.bytesPerLine())
    return arr[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def difference_image(a: QImage, b: QImage, mirrored: bool = False) -> QImage:
    """|a - b| per pixel, b resized onto a (and mirrored back when the pair is a mirror), amplified 3x."""
    b = b.scaled(a.width(), a.height(), Qt.AspectRatioMode.IgnoreAspectRatio,
                 Qt.TransformationMode.SmoothTransformation)
    if mirrored:
        b = b.flipped(Qt.Orientation.Horizontal)
    diff = np.abs(_to_array(a).astype(np.int16) - _to_array(b).astype(np.int16)) * 3
    diff = (255 - np.clip(diff, 0, 255)).astype(np.uint8)  # white = same, dark = different
    h, w = diff.shape[:2]
    return QImage(diff.tobytes(), w, h, w * 3, QImage.Format.Format_RGB888).copy()


class CompareView(QWidget):
    """Two panes, their captions and a metadata table. Call `show_pair(...)` with both pictures."""

    zoomChanged = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.mode = FIT
        self.display = SIDE_BY_SIDE
        self.zoom = 1.0
        self.images: list[Optional[QImage]] = [None, None]
        self.mirrored = False
        self._flicker_on_b = False
        self.flicker_timer = QTimer(self)
        self.flicker_timer.setInterval(FLICKER_MS)
        self.flicker_timer.timeout.connect(self._flicker_step)

        self.panes = [ImagePane(self), ImagePane(self)]
        self.captions = [QLabel(self), QLabel(self)]
        self.mode_label = QLabel(self)  # which view is on: side by side, flicker or difference; fit or same scale
        self.mode_label.setObjectName("compare_mode")
        self.mode_label.setTextFormat(Qt.TextFormat.RichText)
        self.mode_label.setWordWrap(True)
        columns = QSplitter(Qt.Orientation.Horizontal, self)
        for pane, caption in zip(self.panes, self.captions):
            caption.setTextFormat(Qt.TextFormat.RichText)
            caption.setWordWrap(True)
            box = QWidget(columns)
            lay = QVBoxLayout(box)
            lay.setContentsMargins(2, 2, 2, 2)
            lay.addWidget(caption)
            lay.addWidget(pane, 1)
            columns.addWidget(box)
        columns.setStretchFactor(0, 1)
        columns.setStretchFactor(1, 1)
        self.columns = columns
        self._balanced = False
        for i, pane in enumerate(self.panes):
            pane.panned.connect(lambda fx, fy, i=i: self._sync_pan(i, fx, fy))
            pane.wheelZoom.connect(self.zoom_by)
            pane.resized.connect(self._pane_resized)
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(["", "A", "B"])
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)  # with product data the table has ~16 rows
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.evidence = EvidencePanel(self)
        below = QWidget(self)
        below_layout = QVBoxLayout(below)
        below_layout.setContentsMargins(0, 0, 0, 0)
        below_layout.addWidget(self.evidence)
        below_layout.addWidget(self.table, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(columns)
        self.splitter.addWidget(below)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([640, 210])
        self._rows: list[tuple[str, str, str]] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.mode_label)
        layout.addWidget(self.splitter, 1)
        self._update_mode_label()

    # -- content ---------------------------------------------------------------------------------
    def show_pair(self, image_a: Optional[QImage], image_b: Optional[QImage], captions: tuple[str, str],
                  rows: list[tuple[str, str, str]], mirrored: bool = False) -> None:
        self.images = [image_a, image_b]
        self.mirrored = mirrored
        self._show_display()
        self.set_info(captions, rows)

    def set_info(self, captions: tuple[str, str], rows: list[tuple[str, str, str]]) -> None:
        """New captions and metadata for the pictures shown (their zoom and pan stay)."""
        for caption, text in zip(self.captions, captions):
            caption.setText(text)
        self._fill_table(rows)

    def set_evidence(self, sentence: str, details: dict) -> None:
        """Why the two were paired, in words (`sentence`), and every measurement (`details`: the pair's evidence)
        in the Details fold."""
        self.evidence.set_evidence(sentence, details)

    def clear(self) -> None:
        self.show_pair(None, None, ("", ""), [])
        self.set_evidence("", {})

    def _fill_table(self, rows: list[tuple[str, str, str]]) -> None:
        self._rows = rows
        different = different_colour(self.palette())
        self.table.setRowCount(len(rows))
        self.table.clearSpans()
        for r, (name, a, b) in enumerate(rows):
            if b == "":  # one value for the pair (score, decision, keeper): the whole width, not side A's column
                self.table.setSpan(r, 1, 1, 2)
            cells = [QTableWidgetItem(name), QTableWidgetItem(a), QTableWidgetItem(b)]
            if a != b and b != "":
                for cell in cells[1:]:
                    cell.setBackground(different)
            for c, cell in enumerate(cells):
                self.table.setItem(r, c, cell)

    def _show_display(self) -> None:
        a, b = self.images
        self.flicker_timer.stop()
        self.panes[0].set_image(a)
        if self.display == DIFFERENCE and a is not None and b is not None:
            self.panes[1].set_image(difference_image(a, b, self.mirrored))
        elif self.display == FLICKER and a is not None and b is not None:
            self._flicker_on_b = True
            self.panes[1].set_image(b)
            self.flicker_timer.start()
        else:
            self.panes[1].set_image(b)
        self.apply_zoom()
        self._update_mode_label()

    def _flicker_step(self) -> None:
        a, b = self.images
        if a is None or b is None:
            return
        self._flicker_on_b = not self._flicker_on_b
        shown = b if self._flicker_on_b else a.scaled(b.width(), b.height(),
                                                       Qt.AspectRatioMode.IgnoreAspectRatio,
                                                       Qt.TransformationMode.SmoothTransformation)
        if not self._flicker_on_b and self.mirrored:
            shown = shown.flipped(Qt.Orientation.Horizontal)
        self.panes[1].item.setPixmap(QPixmap.fromImage(shown))
        self._update_mode_label()

    # -- view controls ---------------------------------------------------------------------------
    def set_display(self, display: str) -> None:
        self.display = display
        self._show_display()

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.zoom = 1.0
        self.apply_zoom()

    def zoom_by(self, factor: float) -> None:
        self.zoom = max(0.05, min(40.0, self.zoom * factor))
        self.apply_zoom()

    def reset_zoom(self) -> None:
        self.zoom = 1.0
        self.apply_zoom()

    def apply_zoom(self) -> None:
        fx, fy = self.panes[0].pan_fraction()
        if self.mode == FIT:
            for pane in self.panes:
                pane.apply_scale(pane.fit_scale() * self.zoom)
        else:
            for pane in self.panes:
                pane.apply_scale(self.zoom)
        for pane in self.panes:
            pane.set_pan_fraction(fx, fy)
        self.zoomChanged.emit(self.zoom)
        self._update_mode_label()

    def _pane_resized(self) -> None:
        if self.mode == FIT:  # a window resize or a drag of either splitter: the pictures fit again
            self.apply_zoom()

    def mode_text(self) -> str:
        display = DISPLAY_WORDS[self.display].format(seconds=FLICKER_MS / 1000,
                                                     shown="B" if self._flicker_on_b else "A")
        return f"{display} · {MODE_WORDS[self.mode]} · zoom {self.zoom * 100:.0f} %"

    def _update_mode_label(self) -> None:
        head, _, rest = self.mode_text().partition(" · ")
        self.mode_label.setText(f"<b>{head}</b> · {rest}")

    def _sync_pan(self, source: int, fx: float, fy: float) -> None:
        self.panes[1 - source].set_pan_fraction(fx, fy)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._balanced:  # both pictures get the same room
            half = max(self.columns.width(), 400) // 2
            self.columns.setSizes([half, half])
            self._balanced = True

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self._rows:
            self._fill_table(self._rows)  # the "differs" colour follows the palette

    def stop(self) -> None:
        self.flicker_timer.stop()
