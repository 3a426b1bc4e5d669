"""Item models: plain Python lists behind `QAbstractItemModel`s. No SQL inside data().

Product data (who a picture belongs to) comes from the session's background reload as {sha256: [ProductInfo]};
the filter proxies and captions only look it up.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional

from PySide6.QtCore import (QAbstractListModel, QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, QTimer,
                            Signal)
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QIcon, QPixmap

from ..core.products import ProductInfo, joined
from ..core.review import Pair
from .palette import decision_colour
from .thumbnails import PICTURE_ASPECT, ThumbnailGrid

PAIR_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2


def product_text(infos: list[ProductInfo], field: str) -> str:
    """One field of a picture's products ("|" between several products), "—" when unknown: two unknowns are
    alike, an unknown and a value differ (the metadata table highlights differences)."""
    return joined(getattr(i, field) for i in infos) or "—"


def product_caption(infos: list[ProductInfo], shared: bool = False) -> str:
    """A short line for a thumbnail: the first product id (or SKU) and colour, "+N" for more products."""
    if not infos:
        return ""
    first = infos[0]
    text = first.product_id or first.sku or first.name or ""
    if len(infos) > 1:
        text += f" +{len(infos) - 1}"
    if first.colour:
        text += f" · {first.colour}"
    return text + (" · shared photo" if shared else "")


@dataclass
class ProductFilter:
    """What the curator narrowed a list to. A picture matches when its folder contains `folder` and one of its
    products has this category and colour (exact, any case) and an id, group or SKU containing `product`.
    Plain Python: the proxies call it, tests can too."""
    category: str = ""
    colour: str = ""
    product: str = ""
    folder: str = ""

    def picture_matches(self, path: str, infos: list[ProductInfo]) -> bool:
        return self._in_folder(path) and self._has_product(infos)

    def _in_folder(self, path: str) -> bool:
        return not self.folder or self.folder.casefold() in os.path.dirname(path).casefold()

    def _has_product(self, infos: list[ProductInfo]) -> bool:
        return not (self.category or self.colour or self.product) or any(self._product_matches(i) for i in infos)

    def _product_matches(self, info: ProductInfo) -> bool:
        if self.category and (info.category or "").casefold() != self.category.casefold():
            return False
        if self.colour and (info.colour or "").casefold() != self.colour.casefold():
            return False
        wanted = self.product.strip().casefold()
        return not wanted or any(wanted in (v or "").casefold() for v in (info.product_id, info.product_group,
                                                                          info.sku))

    def pair_matches(self, pair: Pair, products: dict[str, list[ProductInfo]]) -> bool:
        """The folder and the product may each be met by either picture: a copy uploaded to incoming/ usually
        has no product data of its own, and "product X, folder incoming" must still find it."""
        return ((self._in_folder(pair.path_a) or self._in_folder(pair.path_b)) and
                (self._has_product(products.get(pair.sha_a, [])) or self._has_product(products.get(pair.sha_b, []))))


class PairTableModel(QAbstractTableModel):
    COLUMNS = ("#", "Score", "Tier", "Decision", "Picture A", "Picture B")

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
            return (str(index.row() + 1), f"{pair.closeness:.3f}", pair.tier.value, pair.decision or "",
                    os.path.basename(pair.path_a), os.path.basename(pair.path_b))[col]
        if role == SORT_ROLE:
            return (index.row(), pair.closeness, pair.tier.rank, pair.decision or "", pair.path_a, pair.path_b)[col]
        if role == Qt.ItemDataRole.BackgroundRole and pair.decision:
            # Worked out from the palette in use, light or dark: the text keeps AA contrast (palette.py).
            return QBrush(decision_colour(QGuiApplication.palette(), pair.decision))
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
        """(merged or kept, all): a skipped pair is not decided."""
        decided = sum(1 for p in self.pairs if p.decision and p.decision != "skip")
        return decided, len(self.pairs)

    def skipped(self) -> int:
        return sum(1 for p in self.pairs if p.decision == "skip")


class PairFilterProxy(QSortFilterProxyModel):
    """Filters: tiers (core/tiers.py), score range, state (undecided / merge / keep / skip / variant), and the
    product filter (category, colour, product, folder)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.tiers: frozenset = frozenset()  # empty = any
        self.state = ""  # "", "undecided", "merge", "keep", "skip", "variant"
        self.min_score = 0.0
        self.max_score = 1.0
        self.products_filter = ProductFilter()
        self.products: dict[str, list[ProductInfo]] = {}  # the session's, by sha256
        self.setSortRole(SORT_ROLE)

    @property
    def folder(self) -> str:
        return self.products_filter.folder

    def set_filters(self, tiers=None, state=None, min_score=None, max_score=None, folder=None,
                    products_filter: Optional[ProductFilter] = None,
                    products: Optional[dict[str, list[ProductInfo]]] = None) -> None:
        self.beginFilterChange()
        if products_filter is not None:
            self.products_filter = products_filter
        if products is not None:
            self.products = products
        if tiers is not None:
            self.tiers = frozenset(tiers)
        if state is not None:
            self.state = state
        if min_score is not None:
            self.min_score = min_score
        if max_score is not None:
            self.max_score = max_score
        if folder is not None:
            self.products_filter.folder = folder.strip()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def refilter(self) -> None:
        """Re-apply the filters after a decision changed a row's state."""
        self.beginFilterChange()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        pair = self.sourceModel().pairs[source_row]
        if self.tiers and pair.tier not in self.tiers:
            return False
        if not (self.min_score - 1e-9 <= pair.closeness <= self.max_score + 1e-9):
            return False
        if self.state == "undecided" and pair.decision:  # a skipped pair is not offered again
            return False
        if self.state in ("merge", "keep", "skip", "variant") and pair.decision != self.state:
            return False
        return self.products_filter.pair_matches(pair, self.products)


class RowsModel(QAbstractTableModel):
    """Read-only rows of text under fixed column titles (previews, error lists)."""

    COLUMNS: tuple[str, ...] = ()

    def __init__(self, parent=None, columns: Optional[tuple[str, ...]] = None):
        super().__init__(parent)
        if columns is not None:
            self.COLUMNS = tuple(columns)
        self.rows: list[tuple[str, ...]] = []

    def set_columns(self, columns: tuple[str, ...]) -> None:
        self.beginResetModel()
        self.COLUMNS = tuple(columns)
        self.endResetModel()

    def set_rows(self, rows: list[tuple[str, ...]]) -> None:
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


class ErrorsModel(RowsModel):
    COLUMNS = ("File", "Why it could not be read")


class ThumbnailListModel(QAbstractListModel):
    """Pictures with a caption; thumbnails arrive later (set_thumbnail) from a background loader."""

    PATH_ROLE = Qt.ItemDataRole.UserRole + 10
    SHA_ROLE = Qt.ItemDataRole.UserRole + 11

    def __init__(self, parent=None, thumb: int = 0):
        super().__init__(parent)
        self.items: list[dict] = []  # {"path", "abs_path", "sha256", "caption", "icon", optional "tooltip"}
        self.placeholder = QIcon()
        self.set_thumbnail_size(thumb)

    def set_thumbnail_size(self, thumb: int) -> None:
        """A see-through grey box of a packshot's shape until the picture arrives: the cell keeps its layout, shows
        it is loading, and suits a light or a dark palette."""
        if thumb:
            blank = QPixmap(round(thumb * PICTURE_ASPECT), thumb)
            blank.fill(QColor(128, 128, 128, 60))
            self.placeholder = QIcon(blank)

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
            return item.get("tooltip") or item["path"]
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


class PagedThumbnailModel(ThumbnailListModel):
    """Every picture of a catalogue, handed to the view a page at a time (canFetchMore / fetchMore). A
    thumbnail is asked for (`thumbnailsWanted`, batched) only when the view paints its cell, and at most
    `max_icons` are held, so scrolling through 100,000 pictures neither loads nor keeps them all."""

    thumbnailsWanted = Signal(list)  # abs paths

    def __init__(self, parent=None, thumb: int = 0, page_size: int = 200, max_icons: int = 3000):
        super().__init__(parent, thumb)
        self.page_size = page_size
        self.max_icons = max_icons
        self.shown = 0
        self._row_of: dict[str, int] = {}
        self._asked: set[str] = set()
        self._wanted: list[str] = []
        self._icons: "OrderedDict[int, None]" = OrderedDict()  # rows holding an icon, oldest first

    def set_items(self, items: list[dict]) -> None:
        self.beginResetModel()
        self.items = items
        self.shown = min(self.page_size, len(items))
        self._row_of = {item["abs_path"]: row for row, item in enumerate(items)}
        self._asked, self._wanted = set(), []
        self._icons.clear()
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else self.shown

    def set_thumbnail_size(self, thumb: int) -> None:
        """A new size: the icons held are forgotten and asked for again as their cells are painted."""
        super().set_thumbnail_size(thumb)
        if getattr(self, "_icons", None):  # none yet when the base class sets the first size
            for row in self._icons:
                self.items[row]["icon"] = None
            self._icons.clear()
            self._asked.clear()

    def canFetchMore(self, parent=QModelIndex()) -> bool:
        return not parent.isValid() and self.shown < len(self.items)

    def fetchMore(self, parent=QModelIndex()) -> None:
        more = min(self.page_size, len(self.items) - self.shown)
        if parent.isValid() or more <= 0:
            return
        self.beginInsertRows(QModelIndex(), self.shown, self.shown + more - 1)
        self.shown += more
        self.endInsertRows()

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if (role == Qt.ItemDataRole.DecorationRole and index.isValid() and index.row() < self.shown
                and self.items[index.row()].get("icon") is None):
            self._want(self.items[index.row()]["abs_path"])
        return super().data(index, role)

    def _want(self, abs_path: str) -> None:
        if abs_path in self._asked:
            return
        self._asked.add(abs_path)
        if not self._wanted:  # one request per round of painting, not one per cell
            QTimer.singleShot(0, self._ask)
        self._wanted.append(abs_path)

    def _ask(self) -> None:
        wanted, self._wanted = self._wanted, []
        if wanted:
            self.thumbnailsWanted.emit(wanted)

    def set_thumbnails(self, images: dict) -> None:
        for abs_path, image in images.items():
            row = self._row_of.get(abs_path)
            if row is None or image is None:
                continue
            self.set_thumbnail(row, abs_path, image)
            self._icons[row] = None
            self._icons.move_to_end(row)
        while len(self._icons) > self.max_icons:  # forget the oldest: painted again, it is asked for again
            row, _ = self._icons.popitem(last=False)
            self.items[row]["icon"] = None
            self._asked.discard(self.items[row]["abs_path"])


class ThumbnailFilterProxy(QSortFilterProxyModel):
    """The product filter over a thumbnail list (search results, the catalogue browser)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.products_filter = ProductFilter()
        self.products: dict[str, list[ProductInfo]] = {}

    def set_filter(self, products_filter: Optional[ProductFilter] = None,
                   products: Optional[dict[str, list[ProductInfo]]] = None) -> None:
        self.beginFilterChange()
        if products_filter is not None:
            self.products_filter = products_filter
        if products is not None:
            self.products = products
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def accepts(self, item: dict) -> bool:
        return self.products_filter.picture_matches(item["path"], self.products.get(item.get("sha256"), []))

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        return self.accepts(self.sourceModel().items[source_row])

    def item(self, index: QModelIndex) -> Optional[dict]:
        return self.sourceModel().item(self.mapToSource(index)) if index.isValid() else None


def thumbnail_grid(parent, model, thumb: int, caption_height: int) -> ThumbnailGrid:
    """An icon-mode view of `model`: fixed grid cells that reflow with the width, captions wrapped; its
    `set_thumbnail_size` follows the Thumbnail size setting."""
    return ThumbnailGrid(parent, model, thumb, caption_height)
