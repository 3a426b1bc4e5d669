"""Item models: plain Python lists behind `QAbstractItemModel`s. No SQL inside data()."""
from __future__ import annotations

import os
from typing import Optional

from PySide6.QtCore import QAbstractListModel, QAbstractTableModel, QModelIndex, QSize, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPixmap
from PySide6.QtWidgets import QListView

from ..core.review import Pair

DECISION_COLOURS = {"merge": QColor(255, 226, 214), "keep": QColor(218, 240, 222)}
PAIR_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2


class PairTableModel(QAbstractTableModel):
    COLUMNS = ("#", "Score", "Kind", "Decision", "Picture A", "Picture B")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.pairs: list[Pair] = []
        self.row_of_key: dict[tuple[str, str, bytes, bytes], int] = {}  # by the files' raw paths

    def set_pairs(self, pairs: list[Pair]) -> None:
        self.beginResetModel()
        self.pairs = pairs
        self.row_of_key = {(p.sha_a, p.sha_b, p.raw_a, p.raw_b): i for i, p in enumerate(pairs)}
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.pairs)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self.pairs)):
            return None
        pair = self.pairs[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (str(index.row() + 1), f"{pair.score:.3f}", pair.kind, pair.decision or "",
                    os.path.basename(pair.path_a), os.path.basename(pair.path_b))[col]
        if role == SORT_ROLE:
            return (index.row(), pair.score, pair.kind, pair.decision or "", pair.path_a, pair.path_b)[col]
        if role == Qt.ItemDataRole.BackgroundRole and pair.decision:
            return QBrush(DECISION_COLOURS[pair.decision])
        if role == Qt.ItemDataRole.ToolTipRole and col in (4, 5):
            return pair.path_a if col == 4 else pair.path_b
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (0, 1):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == PAIR_ROLE:
            return pair
        return None

    def set_decision(self, row: int, decision: Optional[str]) -> None:
        self.pairs[row].decision = decision
        self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))

    def rows_for_shas(self, sha_a: str, sha_b: str) -> list[int]:
        key = tuple(sorted((sha_a, sha_b)))
        return [i for i, p in enumerate(self.pairs) if p.key == key]

    def counts(self) -> tuple[int, int]:
        decided = sum(1 for p in self.pairs if p.decision)
        return decided, len(self.pairs)


class PairFilterProxy(QSortFilterProxyModel):
    """Filters: kind (exact / near), score range, state (undecided / merge / keep), folder."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.kind = ""  # "" = any
        self.state = ""  # "", "undecided", "merge", "keep"
        self.min_score = 0.0
        self.max_score = 1.0
        self.folder = ""
        self.setSortRole(SORT_ROLE)

    def set_filters(self, kind=None, state=None, min_score=None, max_score=None, folder=None) -> None:
        self.beginFilterChange()
        if kind is not None:
            self.kind = kind
        if state is not None:
            self.state = state
        if min_score is not None:
            self.min_score = min_score
        if max_score is not None:
            self.max_score = max_score
        if folder is not None:
            self.folder = folder.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def refilter(self) -> None:
        """Re-apply the filters after a decision changed a row's state."""
        self.beginFilterChange()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        pair = self.sourceModel().pairs[source_row]
        if self.kind and pair.kind != self.kind:
            return False
        if not (self.min_score - 1e-9 <= pair.score <= self.max_score + 1e-9):
            return False
        if self.state == "undecided" and pair.decision:
            return False
        if self.state in ("merge", "keep") and pair.decision != self.state:
            return False
        if self.folder and self.folder not in (os.path.dirname(pair.path_a).lower() + "\n" +
                                               os.path.dirname(pair.path_b).lower()):
            return False
        return True


class ErrorsModel(QAbstractTableModel):
    COLUMNS = ("File", "Why it could not be read")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[tuple[str, str]] = []

    def set_rows(self, rows: list[tuple[str, str]]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self.rows)):
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self.rows[index.row()][index.column()]
        return None


class ThumbnailListModel(QAbstractListModel):
    """Pictures with a caption; thumbnails arrive later (set_thumbnail) from a background loader."""

    PATH_ROLE = Qt.ItemDataRole.UserRole + 10
    SHA_ROLE = Qt.ItemDataRole.UserRole + 11

    def __init__(self, parent=None):
        super().__init__(parent)
        self.items: list[dict] = []  # {"path", "abs_path", "sha256", "caption", "icon"}
        self.placeholder = QIcon()

    def set_items(self, items: list[dict]) -> None:
        self.beginResetModel()
        self.items = items
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.items)

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self.items)):
            return None
        item = self.items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return item["caption"]
        if role == Qt.ItemDataRole.DecorationRole:
            return item.get("icon") or self.placeholder
        if role == Qt.ItemDataRole.ToolTipRole:
            return item["path"]
        if role == self.PATH_ROLE:
            return item["abs_path"]
        if role == self.SHA_ROLE:
            return item.get("sha256")
        return None

    def item(self, index: QModelIndex) -> Optional[dict]:
        return self.items[index.row()] if index.isValid() and 0 <= index.row() < len(self.items) else None

    def set_thumbnails(self, images: dict) -> None:
        """Pictures loaded in the background ({abs_path: QImage}) become the items' icons."""
        for row, item in enumerate(self.items):
            if item["abs_path"] in images:
                self.set_thumbnail(row, item["abs_path"], images[item["abs_path"]])

    def set_thumbnail(self, row: int, abs_path: str, image) -> None:
        if 0 <= row < len(self.items) and self.items[row]["abs_path"] == abs_path and image is not None:
            self.items[row]["icon"] = QIcon(QPixmap.fromImage(image))
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


def thumbnail_grid(parent, model: ThumbnailListModel, thumb: int, caption_height: int) -> QListView:
    """An icon-mode view of `model`: fixed grid cells that reflow with the width, captions wrapped."""
    view = QListView(parent)
    view.setModel(model)
    view.setViewMode(QListView.ViewMode.IconMode)
    view.setIconSize(QSize(thumb, thumb))
    view.setGridSize(QSize(thumb + 30, thumb + caption_height))
    view.setResizeMode(QListView.ResizeMode.Adjust)
    view.setMovement(QListView.Movement.Static)
    view.setWordWrap(True)
    return view
