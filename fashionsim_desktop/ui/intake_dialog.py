"""File ▸ Check a New Shoot… (or a folder dropped on Visual search): the intake check in the window.

core/intake.check runs in a worker (it reads and embeds every picture of the shoot and verifies candidates in
worker processes) with a bar per phase and Cancel; the report is a table: each picture of the shoot, whether the
catalogue already has it (exact copy, edited copy), under which paths, the score and the product data. Double-click
a row to see the shoot's picture beside the catalogue's. The check never writes to the catalogue.
"""
from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QLabel, QTableView,
                               QVBoxLayout)

from ..core.intake import DUPLICATE, ERROR, EXACT, NEW, IntakeReport, Item
from ..store.catalog import raw_to_path
from .compare_view import CompareView
from .progress_panel import ProgressPanel

PHASES = (("scan", "Scanning the shoot"), ("features", "Reading and embedding its pictures"),
          ("pairs", "Comparing with the catalogue"))
STATUS_TEXT = {EXACT: "exact copy", DUPLICATE: "edited copy", NEW: "new", ERROR: "unreadable"}
STATUS_COLOUR = {EXACT: QColor(255, 224, 178), DUPLICATE: QColor(255, 236, 179), NEW: QColor(220, 240, 220),
                 ERROR: QColor(248, 215, 215)}
ORDER = {EXACT: 0, DUPLICATE: 1, ERROR: 2, NEW: 3}  # what needs the curator first
ICON = 56


def _unique(values) -> str:
    return ", ".join(dict.fromkeys(v for v in values if v))


def summary_line(report: IntakeReport) -> str:
    n = report.counts()
    return (f"{len(report.items)} pictures in {report.folder}: {n[EXACT]} exact and {n[DUPLICATE]} edited copies of "
            f"catalogue pictures, {n[NEW]} new, {n[ERROR]} unreadable (a duplicate scores at least "
            f"{report.min_score:g}).")


class IntakeModel(QAbstractTableModel):
    """The report's items, one row each; thumbnails of the shoot's pictures arrive later."""

    COLUMNS = ("Picture", "Status", "Catalogue picture(s)", "Score", "Product ids", "SKUs")
    ITEM_ROLE = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent=None):
        super().__init__(parent)
        self.items: list[Item] = []
        self.icons: dict[int, QIcon] = {}
        blank = QPixmap(ICON * 2 // 3, ICON)  # until a thumbnail arrives (or for a file that is no picture)
        blank.fill(QColor(236, 236, 236))
        self.placeholder = QIcon(blank)

    def set_items(self, items: list[Item]) -> None:
        self.beginResetModel()
        self.items, self.icons = list(items), {}
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def text(self, item: Item, column: int) -> str:
        matches = item.matches
        if column == 0:
            return item.path
        if column == 1:
            return STATUS_TEXT.get(item.status, item.status)
        if column == 2:
            return item.error or "\n".join(m.path for m in matches) or "—"
        if column == 3:
            return "\n".join("same bytes" if m.tier.value == EXACT else f"{m.score:.3f}" for m in matches)
        if column == 4:
            return _unique(p for m in matches for p in m.product_ids)
        return _unique(s for m in matches for s in m.skus)

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self.items)):
            return None
        item, column = self.items[index.row()], index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self.text(item, column)
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return self.icons.get(index.row(), self.placeholder)
        if role == Qt.ItemDataRole.BackgroundRole and column == 1:
            return STATUS_COLOUR.get(item.status)
        if role == Qt.ItemDataRole.UserRole:  # the sort key: copies first, then unreadable, then new
            return f"{ORDER.get(item.status, 9)} {item.path}" if column == 1 else self.text(item, column)
        if role == self.ITEM_ROLE:
            return item
        return None

    def set_thumbnails(self, images: dict, path_of) -> None:
        for row, item in enumerate(self.items):
            image = images.get(path_of(item))
            if image is not None:
                self.icons[row] = QIcon(QPixmap.fromImage(image))
                self.dataChanged.emit(self.index(row, 0), self.index(row, 0), [Qt.ItemDataRole.DecorationRole])


class IntakePairDialog(QDialog):
    """A shoot picture beside the catalogue picture it matched, zoom and pan in step (the review's viewer)."""

    def __init__(self, session, folder: Path, item: Item, parent=None):
        super().__init__(parent)
        match = item.matches[0] if item.matches else None
        self.setWindowTitle(f"{item.path} — {STATUS_TEXT.get(item.status, item.status)}")
        self.compare = CompareView(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.compare)
        self.paths = [raw_to_path(folder, item.path_raw), session.abs_path(match.path_raw) if match else None]
        self.captions = (f"<b>New shoot: {os.path.basename(item.path)}</b><br><span style='color:#666'>"
                         f"{folder}</span>",
                         f"<b>Catalogue: {os.path.basename(match.path)}</b><br><span style='color:#666'>"
                         f"{os.path.dirname(match.path) or '.'}</span>" if match
                         else "<b>Not in the catalogue</b>")
        score = "" if match is None else "same bytes" if match.tier.value == EXACT else f"{match.score:.3f}"
        also = f" (also {', '.join(m.path for m in item.matches[1:])})" if len(item.matches) > 1 else ""
        self.rows = [("File", item.path, f"{match.path}{also}" if match else "—"),
                     ("Status", STATUS_TEXT.get(item.status, item.status), ""), ("Score", score or "—", "")]
        if match is not None:  # the catalogue's product data: what the new picture would duplicate
            self.rows += [("Product ids", "—", ", ".join(match.product_ids) or "—"),
                          ("SKUs", "—", ", ".join(match.skus) or "—")]
        if item.error:
            self.rows.append(("Why unreadable", item.error, ""))
        self.compare.table.setHorizontalHeaderLabels(["", "New shoot", "Catalogue"])
        self.compare.show_pair(None, None, self.captions, self.rows)
        session.load_images([p for p in self.paths if p], self._loaded)
        self.resize(1000, 760)

    def _loaded(self, images: dict) -> None:
        a, b = (images.get(p) if p else None for p in self.paths)
        self.compare.show_pair(a, b, self.captions, self.rows)

    def done(self, result: int) -> None:
        self.compare.stop()
        super().done(result)


class IntakeDialog(QDialog):
    """The check of one shoot: progress and Cancel while it runs, then the report."""

    def __init__(self, session, folder: Path, workers: int, parent=None):
        super().__init__(parent)
        self.session = session
        self.folder = Path(folder)
        self.report: Optional[IntakeReport] = None
        self.failure: Optional[str] = None
        self.viewer: Optional[IntakePairDialog] = None
        self.setWindowTitle(f"Check a new shoot — {self.folder.name}")
        self.heading = QLabel(f"Is each picture of <b>{self.folder}</b> already in the catalogue?", self)
        self.heading.setWordWrap(True)
        self.progress = ProgressPanel(self, PHASES)
        self.progress.cancelRequested.connect(self.cancel)
        self.status = QLabel("Checking…", self)
        self.status.setObjectName("intake_summary")
        self.status.setWordWrap(True)
        self.model = IntakeModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        self.table.setIconSize(QSize(ICON, ICON))
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(ICON + 6)  # room for the thumbnail and two matches
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self.show_row)
        hint = QLabel("Double-click a picture to see it beside the catalogue picture it matches.", self)
        hint.setStyleSheet("color: #666")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addWidget(hint)
        layout.addWidget(self.buttons)
        self.resize(1100, 640)
        self.worker = session.check_shoot(self.folder, workers, self._done, connect=self._connect)

    def _connect(self, worker) -> None:
        worker.signals.progress.connect(self.progress.update_status)
        worker.signals.failed.connect(self._failed)
        worker.signals.cancelled.connect(lambda: self._stopped("Cancelled: nothing was checked to the end."))
        worker.signals.finished.connect(self._finished)

    @property
    def running(self) -> bool:
        return self.worker is not None

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.progress.cancel_button.setEnabled(False)
            self.status.setText("Cancelling…")

    def _finished(self) -> None:
        self.worker = None

    def _done(self, report: IntakeReport) -> None:
        self.report = report
        self.progress.finish("done")
        self.progress.hide()
        self.status.setText(f"<b>{html.escape(summary_line(report))}</b>"
                            + "".join(f"<br>{html.escape(w)}" for w in report.warnings))
        self.model.set_items(report.items)
        path_of = lambda item: raw_to_path(self.folder, item.path_raw)  # noqa: E731
        readable = [path_of(i) for i in report.items if i.status != ERROR]
        self.session.load_images(readable, lambda images: self.model.set_thumbnails(images, path_of), max_side=ICON)

    def _failed(self, message: str) -> None:
        self.failure = message
        self._stopped(message)

    def _stopped(self, message: str) -> None:
        self.progress.finish("stopped")
        self.status.setText(message)

    def item_at(self, row: int) -> Item:
        """The item on this row of the table as shown (sorted)."""
        return self.proxy.index(row, 0).data(IntakeModel.ITEM_ROLE)

    def show_row(self, index: QModelIndex) -> None:
        item = index.data(IntakeModel.ITEM_ROLE)
        if item is None:
            return
        if self.viewer is not None:
            self.viewer.close()
        self.viewer = IntakePairDialog(self.session, self.folder, item, self)
        self.viewer.show()

    def dispose(self) -> None:
        """Delete this dialog once its check has stopped: its worker's last signals still come here."""
        if self.worker is None:
            self.deleteLater()
        else:
            self.worker.signals.finished.connect(self.deleteLater)

    def done(self, result: int) -> None:
        self.cancel()  # closing the report stops a check still running
        if self.viewer is not None:
            self.viewer.close()
        super().done(result)
