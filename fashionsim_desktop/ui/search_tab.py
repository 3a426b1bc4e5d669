"""Visual search: the catalogue pictures most similar to a dropped, pasted or chosen picture, grouped by tier
(core/search.py): copies of the query photo first, collapsed into one cell, then the same product in other
colours or shots, then similar products. Each cell's caption starts with its group; a heading counts them.

Queries run in workers; each new query cancels the one before and stale results are dropped, so the grid
always shows the latest question. Thumbnails arrive in the background after the results, loaded at the grid's icon
size in device pixels (the Thumbnail size setting, `set_thumbnail_size`, applied to the results on screen too).

A folder dropped here is a new shoot: the window checks it against the catalogue (the intake check) instead of
opening it as a catalogue, as a folder dropped anywhere else would.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QBuffer, QIODevice, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from ..core.errors import FashionSimError
from ..core.imaging import DecodeError
from ..core.search import Results, Searcher
from ..core.tiers import Tier
from ..store.catalog import Catalog
from .compare_view import ImagePane
from .errors_tab import reveal_in_file_manager
from .filter_bar import FilterBar
from .models import ThumbnailFilterProxy, ThumbnailListModel, product_caption, thumbnail_grid
from .thumbnails import load_side
from .workers import Worker

THUMB = 160  # the results' thumbnails until the window applies the Thumbnail size setting
PREVIEW = 150  # the query picture beside the results (logical pixels)
GROUP_NAMES = {Tier.VARIANT: "Other colour or shot", Tier.SIMILAR: "Similar product"}


def qimage_to_png(image: QImage) -> bytes:
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data())


class ImageViewerDialog(QDialog):
    """One picture, zoomable, with its path; opened from a search result."""

    def __init__(self, path: str, image: Optional[QImage], parent=None):
        super().__init__(parent)
        self.setWindowTitle(os.path.basename(path))
        self.pane = ImagePane(self)
        self.pane.set_image(image)
        self.pane.wheelZoom.connect(lambda f: self.pane.apply_scale(self.pane.scale_factor() * f))
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(path, self))
        layout.addWidget(self.pane, 1)
        self.resize(700, 800)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.pane.apply_scale(self.pane.fit_scale())


class SearchTab(QWidget):
    statusMessage = Signal(str)
    resultsShown = Signal(int)  # for tests and the status bar: how many results are on screen
    dropped = Signal(object)  # QMimeData dropped on this tab: the window searches, or checks a dropped folder

    def __init__(self, parent=None):
        super().__init__(parent)
        self.session = None
        self._searcher: Optional[Searcher] = None
        self._searcher_lock = threading.Lock()
        self._query_id = 0
        self._running: Optional[Worker] = None
        self.thumb = THUMB
        self._size_asked = 0  # counts size changes: thumbnails loaded for an earlier size are dropped
        self.setAcceptDrops(True)
        self.query_label = QLabel("Drop pictures here (from a file manager or a browser), paste one with Ctrl+V, "
                                  "or pick “Find similar” on a catalogue picture. Drop a folder of a new shoot "
                                  "to check which of its pictures the catalogue already has.", self)
        self.query_label.setWordWrap(True)
        self.query_preview = QLabel(self)
        self.query_preview.setFixedSize(PREVIEW, PREVIEW)
        self.query_preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.k_box = QSpinBox(self, minimum=1, maximum=200, value=24)
        self.model = ThumbnailListModel(self, THUMB)  # every result; the grid shows those the filters let through
        self.proxy = ThumbnailFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.filter_bar = FilterBar(self)
        self.filter_bar.changed.connect(lambda: self.proxy.set_filter(self.filter_bar.value()))
        self.hidden_label = QLabel(self)  # results the filters hide: a search never looks empty unexplained
        for signal in (self.proxy.rowsInserted, self.proxy.rowsRemoved, self.proxy.modelReset,
                       self.proxy.layoutChanged):
            signal.connect(self._update_hidden)
        self.grid = thumbnail_grid(self, self.proxy, THUMB, caption_height=66)
        self.grid.activated.connect(lambda _: self.open_selected())
        self.open_button = QPushButton("Open", self)
        self.reveal_button = QPushButton("Reveal in file manager", self)
        self.similar_button = QPushButton("Find similar to this", self)
        self.open_button.clicked.connect(self.open_selected)
        self.reveal_button.clicked.connect(self.reveal_selected)
        self.similar_button.clicked.connect(self.similar_to_selected)
        top = QHBoxLayout()
        top.addWidget(self.query_preview)
        top.addWidget(self.query_label, 1)
        top.addWidget(QLabel("Results:"))
        top.addWidget(self.k_box)
        buttons = QHBoxLayout()
        for b in (self.open_button, self.reveal_button, self.similar_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.hidden_label)
        buttons.addWidget(QLabel("Show only:"))
        buttons.addWidget(self.filter_bar)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(buttons)
        layout.addWidget(self.grid, 1)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        self.dropped.emit(event.mimeData())
        event.acceptProposedAction()

    def set_thumbnail_size(self, size: int) -> None:
        """The Thumbnail size setting: the grid at that size, and the results on screen loaded again at it."""
        self.thumb = size
        self._size_asked += 1
        self.grid.set_thumbnail_size(size)
        if self.session is not None and self.model.items:
            self._load_thumbnails(self._query_id)

    def set_session(self, session) -> None:
        self.cancel()
        self.session = session
        with self._searcher_lock:
            if self._searcher is not None:
                self._searcher.close()
            self._searcher = None
        self.model.set_items([])
        self.refresh_products()

    def refresh_products(self) -> None:
        """After a reload: the filters' choices and the captions follow the session's product data."""
        products = self.session.products if self.session else {}
        self.filter_bar.set_choices(self.session)
        self.proxy.set_filter(self.filter_bar.value(), products)
        for row, item in enumerate(self.model.items):
            item["caption"] = self._caption(item["similarity"], item["path"], item["sha256"], item.get("group", ""))
        if self.model.items:
            self.model.dataChanged.emit(self.model.index(0), self.model.index(len(self.model.items) - 1))

    def _update_hidden(self, *_) -> None:
        hidden = self.model.rowCount() - self.proxy.rowCount()
        self.hidden_label.setText(f"{hidden} hidden by the filters" if hidden else "")

    def _caption(self, similarity: float, path: str, sha256: str, group: str = "") -> str:
        product = product_caption(self.session.products.get(sha256, []), sha256 in self.session.shared)
        head = f"{group} · {similarity:.3f}" if group else f"{similarity:.3f}"
        return f"{head}\n{os.path.basename(path)}" + (f"\n{product}" if product else "")

    def invalidate_index(self) -> None:
        """After indexing: the next query loads the new index."""
        self.set_session(self.session)

    # -- queries ---------------------------------------------------------------------------------
    def _get_searcher(self) -> Searcher:
        with self._searcher_lock:
            if self._searcher is None:
                with Catalog(self.session.catalog_dir) as catalog:  # this thread's own connection
                    self._searcher = Searcher(catalog)
            return self._searcher

    def cancel(self) -> None:
        if self._running is not None:
            self._running.cancel()
            self._running = None

    def search_bytes(self, data: bytes, label: str) -> None:
        image = QImage.fromData(data)
        self._start(label, image if not image.isNull() else None, self._grouped_bytes(data))

    def search_file(self, path: str) -> None:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            self.statusMessage.emit(f"{path} cannot be read: {exc.strerror or exc}")
            return
        self.search_bytes(data, os.path.basename(path))

    def search_qimage(self, image: QImage, label: str = "pasted picture") -> None:
        self.search_bytes(qimage_to_png(image), label)

    @staticmethod
    def _grouped_bytes(data: bytes):
        return lambda searcher, k: searcher.grouped_bytes(data, k)

    def search_similar(self, sha256: str, label: str) -> None:
        self._start(label, None, lambda searcher, k: searcher.grouped_similar_to(sha256, k))
        raw = next((raw for raw, f in self.session.files.items() if f["sha256"] == sha256), None) \
            if self.session else None
        if raw is not None:  # the catalogue picture asked about, shown once loaded (if still the question)
            path, query_id = self.session.abs_path(raw), self._query_id
            self.session.load_images([path], lambda images: query_id == self._query_id and self._set_preview(
                images.get(path)), max_side=load_side(PREVIEW, self))

    def _start(self, label: str, preview: Optional[QImage], run) -> None:
        if self.session is None:
            self.statusMessage.emit("Open and index a catalogue folder first.")
            return
        self.cancel()  # a newer question replaces the older one
        self._query_id += 1
        query_id, k = self._query_id, self.k_box.value()
        self.query_label.setText(f"Searching for pictures like <b>{label}</b>…")
        self._set_preview(preview)

        def job(progress):
            searcher = self._get_searcher()
            progress.check()
            if not searcher.ready:
                raise FashionSimError("This catalogue has no search index yet: index the folder first.")
            try:
                return run(searcher, k)
            except DecodeError as exc:
                raise FashionSimError(f"{label} is not a picture FashionSim can read: {exc}") from exc

        worker = Worker(job)
        worker.signals.result.connect(lambda hits, q=query_id, l=label: self._show(q, l, hits))
        worker.signals.failed.connect(lambda msg, q=query_id: self._failed(q, msg))
        self._running = worker
        self.session.pool.start(worker)

    def _set_preview(self, image: Optional[QImage]) -> None:
        if image is None or image.isNull():
            self.query_preview.clear()
            return
        side = load_side(PREVIEW, self)  # sharp at 150 % and 200 %
        pixmap = QPixmap.fromImage(image).scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                                 Qt.TransformationMode.SmoothTransformation)
        pixmap.setDevicePixelRatio(side / PREVIEW)
        self.query_preview.setPixmap(pixmap)

    def _failed(self, query_id: int, message: str) -> None:
        if query_id == self._query_id:
            self.query_label.setText(message)
            self.statusMessage.emit(message)

    def _show(self, query_id: int, label: str, results: Results) -> None:
        if query_id != self._query_id or self.session is None:
            return  # an older question: its answer is no longer wanted
        self._running = None
        items = []
        if results.copies:  # one cell for the query photo's copies: the closest, with how many there are
            best, count = results.copies[0], len(results.copies)
            group = "This photo" + (f" ({count} copies)" if count > 1 else "")
            items.append(self._item(best, group, copies=[h.path for h in results.copies]))
        items += [self._item(h, GROUP_NAMES[h.tier]) for h in results.variants + results.similar]
        counts = [(len(results.copies), "copy of this photo", "copies of this photo"),
                  (len(results.variants), "of the same product in another colour or shot",
                   "of the same product in other colours or shots"),
                  (len(results.similar), "similar product", "similar products")]
        summary = " · ".join(f"{n} {one if n == 1 else many}" for n, one, many in counts if n)
        self.query_label.setText(f"Like <b>{label}</b>: {summary or 'nothing found'}")
        self.model.set_items(items)
        self._load_thumbnails(query_id)
        self.resultsShown.emit(len(items))

    def _item(self, hit, group: str, copies: Optional[list] = None) -> dict:
        item = {"path": hit.path, "path_raw": hit.path_raw, "abs_path": self.session.abs_path(hit.path_raw),
                "sha256": hit.sha256, "similarity": hit.similarity, "tier": hit.tier, "group": group,
                "caption": self._caption(hit.similarity, hit.path, hit.sha256, group)}
        if copies:
            item["copies"] = copies
            item["tooltip"] = "Copies of this photo in the catalogue:\n" + "\n".join(copies)
        return item

    def _load_thumbnails(self, query_id: int) -> None:
        asked = self._size_asked
        self.session.load_images([i["abs_path"] for i in self.model.items],
                                 lambda images: self._thumbnails(query_id, asked, images),
                                 max_side=load_side(self.thumb, self))

    def _thumbnails(self, query_id: int, size_asked: int, images: dict) -> None:
        # An older question's thumbnails, or ones loaded for an earlier size, are not wanted.
        if query_id == self._query_id and size_asked == self._size_asked:
            self.model.set_thumbnails(images)

    # -- result actions --------------------------------------------------------------------------
    def selected(self) -> Optional[dict]:
        return self.proxy.item(self.grid.currentIndex())

    def open_selected(self) -> None:
        item = self.selected()
        if item:
            ImageViewerDialog(item["path"], self.session.cache.get(item["abs_path"]), self).show()

    def reveal_selected(self) -> None:
        item = self.selected()
        if item:
            reveal_in_file_manager(item["abs_path"])

    def similar_to_selected(self) -> None:
        item = self.selected()
        if item:
            self.search_similar(item["sha256"], os.path.basename(item["path"]))

    def shutdown(self) -> None:
        self.cancel()
        with self._searcher_lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None
