"""The catalogue browser: every indexed picture as a thumbnail, filtered by category, colour, product and
folder, with "Find similar" on any of them.

The list is built from what the session already holds (files and product data, loaded in the background);
the view is fed a page at a time and a thumbnail is loaded only when its cell is painted, at the grid's icon size
in device pixels (the Thumbnail size setting, `set_thumbnail_size`).
"""
from __future__ import annotations

import os
from typing import Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from .errors_tab import reveal_in_file_manager
from .filter_bar import FilterBar
from .models import PagedThumbnailModel, ThumbnailFilterProxy, product_caption, thumbnail_grid
from .search_tab import ImageViewerDialog
from .thumbnails import load_side

THUMB = 160  # until the window applies the Thumbnail size setting


class BrowserTab(QWidget):
    statusMessage = Signal(str)
    findSimilar = Signal(str, str)  # sha256, label

    def __init__(self, parent=None):
        super().__init__(parent)
        self.session = None
        self._shown_from: Optional[list] = None  # what the list was built from, to skip needless rebuilds
        self._stale = False  # the session changed while the tab was hidden
        self.thumb = THUMB
        self._size_asked = 0  # counts size changes: pictures loaded for an earlier size are dropped
        self.model = PagedThumbnailModel(self, THUMB)
        self.model.thumbnailsWanted.connect(self._load_thumbnails)
        self.proxy = ThumbnailFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.filter_bar = FilterBar(self)
        self.filter_bar.changed.connect(self._filters_changed)
        self.count_label = QLabel(self)
        self.grid = thumbnail_grid(self, self.proxy, THUMB, caption_height=66)
        self.grid.activated.connect(lambda _: self.find_similar())
        self.similar_button = QPushButton("Find similar  [Enter]", self)
        self.open_button = QPushButton("Open", self)
        self.reveal_button = QPushButton("Reveal in file manager", self)
        self.similar_button.clicked.connect(self.find_similar)
        self.open_button.clicked.connect(self.open_selected)
        self.reveal_button.clicked.connect(self.reveal_selected)
        top = QHBoxLayout()
        top.addWidget(QLabel("Show only:"))
        top.addWidget(self.filter_bar)
        top.addStretch(1)
        top.addWidget(self.count_label)
        buttons = QHBoxLayout()
        for button in (self.similar_button, self.open_button, self.reveal_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(buttons)
        layout.addWidget(self.grid, 1)

    def set_thumbnail_size(self, size: int) -> None:
        """The Thumbnail size setting: the grid at that size; the pictures shown are loaded again at it as their
        cells are painted (pictures still on their way at the old size are dropped when they arrive)."""
        self.thumb = size
        self._size_asked += 1
        self.grid.set_thumbnail_size(size)

    def set_session(self, session) -> None:
        self.session = session
        self._shown_from = None
        self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        """Rebuild the list from the session's files and product data, only if either changed (a reload after
        a decision must not throw the curator back to the top), and only when the tab is seen."""
        self._stale = not self.isVisible()
        if self._stale:
            return
        session = self.session
        files = sorted(session.files.values(), key=lambda f: (f["path"], f["path_raw"])) if session else []
        products = session.products if session else {}
        source = [(f["path_raw"], f["sha256"], products.get(f["sha256"]), f["sha256"] in session.shared)
                  for f in files] if session else []
        self.filter_bar.set_choices(session)
        self.proxy.set_filter(self.filter_bar.value(), products)
        if source != self._shown_from:
            self._shown_from = source
            self.model.set_items([self._item(f) for f in files])
        self._update_count()

    def _item(self, f: dict) -> dict:
        infos = self.session.products.get(f["sha256"], [])
        product = product_caption(infos, f["sha256"] in self.session.shared)
        details = [f"{i.product_id} {i.name or ''} · {i.colour or '?'} · {i.category or '?'}" for i in infos]
        return {"path": f["path"], "path_raw": f["path_raw"], "abs_path": self.session.abs_path(f["path_raw"]),
                "sha256": f["sha256"], "caption": os.path.basename(f["path"]) + (f"\n{product}" if product else ""),
                "tooltip": "\n".join([f["path"]] + details)}

    def _filters_changed(self) -> None:
        self.proxy.set_filter(self.filter_bar.value())
        self._update_count()

    def _update_count(self) -> None:
        items = self.model.items
        matching = sum(1 for item in items if self.proxy.accepts(item))  # all of them, not only the pages shown
        self.count_label.setText(f"{len(items)} pictures" if matching == len(items)
                                 else f"{matching} of {len(items)} pictures match")

    def _load_thumbnails(self, abs_paths: list) -> None:
        if self.session is None:
            return
        asked = self._size_asked
        # A picture asked for before a size change is dropped: the model asks for it again at the new size.
        self.session.load_images(abs_paths, lambda images: asked == self._size_asked
                                 and self.model.set_thumbnails(images), max_side=load_side(self.thumb, self))

    # -- actions ---------------------------------------------------------------------------------
    def selected(self) -> Optional[dict]:
        return self.proxy.item(self.grid.currentIndex())

    def find_similar(self) -> None:
        item = self.selected()
        if item:
            self.findSimilar.emit(item["sha256"], os.path.basename(item["path"]))
        else:
            self.statusMessage.emit("Select a picture first.")

    def open_selected(self) -> None:
        item = self.selected()
        if item:
            ImageViewerDialog(item["path"], self.session.cache.get(item["abs_path"]), self).show()

    def reveal_selected(self) -> None:
        item = self.selected()
        if item:
            reveal_in_file_manager(item["abs_path"])
