"""The pair queue's look: each picture cell shows a thumbnail, the file name whole and its folder, elided.

An article number is what a curator reads ("0834123001.jpg"), so a cell elides the folder (from the left:
"…/images/083") and never the name; the full path is in the tooltip. The picture columns never get narrower than
a typical article-number file name beside its thumbnail, and the sizes are worked out from the font and the
thumbnail size, so the queue keeps every column at 150 % and 200 % and with a large font.
"""
from __future__ import annotations

import os
import re
from typing import Callable, Optional

from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QFontMetrics, QPalette
from PySide6.QtWidgets import (QHeaderView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTableView,
                               QToolTip)

from .models import PAIR_ROLE, PairTableModel
from .palette import secondary_text
from .thumbnails import PICTURE_ASPECT, ThumbnailStore, draw_thumbnail, load_side

# Typical article-number file names (H&M's are 10 digits): the picture columns always fit the wider of these.
NAME_SAMPLES = ("0834123001.jpg", "0834123001.png")
PICTURE_COLUMNS = {PairTableModel.COLUMNS.index("Picture A"): "a", PairTableModel.COLUMNS.index("Picture B"): "b"}
PAD, GAP = 4, 6  # pixels around a cell's content, between its thumbnail and its text
ELLIPSIS = "…"


def queue_thumbnail_height(thumbnail_size: int) -> int:
    """The queue's thumbnails grow with the Thumbnail size setting, within what keeps rows compact."""
    return max(32, min(96, round(thumbnail_size * 0.25)))


def elide_folder(folder: str, metrics: QFontMetrics, width: int) -> str:
    """As many of the folder's last components as fit in `width`, after "…/"; the whole folder when it fits."""
    if not folder or metrics.horizontalAdvance(folder) <= width:
        return folder
    parts = folder.replace("\\", "/").split("/")
    for first in range(1, len(parts)):
        text = ELLIPSIS + "/" + "/".join(parts[first:])
        if metrics.horizontalAdvance(text) <= width:
            return text
    return metrics.elidedText(parts[-1], Qt.TextElideMode.ElideLeft, width)


def elide_name(name: str, metrics: QFontMetrics, width: int) -> str:
    """The file name whole when it fits. A longer one keeps its article number (its first run of 6 or more digits,
    "0525563041_mi…") when that fits, else loses its middle."""
    if metrics.horizontalAdvance(name) <= width:
        return name
    number = re.search(r"\d{6,}", name)
    shortened = metrics.elidedText(name, Qt.TextElideMode.ElideRight, width)
    if number and shortened.startswith(name[:number.end()]):
        return shortened
    return metrics.elidedText(name, Qt.TextElideMode.ElideMiddle, width)


class PictureCellDelegate(QStyledItemDelegate):
    """Paints a picture cell of the pair queue: thumbnail, file name, folder."""

    def __init__(self, parent, thumbnails: ThumbnailStore, session_of: Callable[[], object]):
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.session_of = session_of
        self.thumb_height = queue_thumbnail_height(160)

    def thumb_box(self) -> QSize:
        return QSize(round(self.thumb_height * PICTURE_ASPECT), self.thumb_height)

    @staticmethod
    def path_of(index) -> tuple[str, bytes]:
        """(relative path, raw path) of the picture this cell shows."""
        pair = index.data(PAIR_ROLE)
        return (pair.path_a, pair.raw_a) if PICTURE_COLUMNS[index.column()] == "a" else (pair.path_b, pair.raw_b)

    def text_rect(self, option: QStyleOptionViewItem) -> QRect:
        return option.rect.adjusted(PAD + self.thumb_box().width() + GAP, PAD, -PAD, -PAD)

    def lines(self, option: QStyleOptionViewItem, index) -> tuple[str, str]:
        """The two lines the cell shows, as painted: the file name (whole when it fits) and the folder."""
        path, _ = self.path_of(index)
        metrics, width = QFontMetrics(option.font), self.text_rect(option).width()
        return (elide_name(os.path.basename(path), metrics, width),
                elide_folder(os.path.dirname(path), metrics, width))

    def paint(self, painter, option, index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""  # the background, selection and focus from the style; the content is ours
        widget = opt.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        path, raw = self.path_of(index)
        box = QRect(opt.rect.left() + PAD, opt.rect.top() + (opt.rect.height() - self.thumb_height) // 2,
                    self.thumb_box().width(), self.thumb_height)
        session = self.session_of()
        pixmap = self.thumbnails.pixmap(session.abs_path(raw)) if session is not None else None
        draw_thumbnail(painter, box, pixmap, opt.palette)
        name, folder = self.lines(opt, index)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        palette = opt.palette
        text_colour = palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        folder_colour = text_colour if selected else secondary_text(palette)
        rect = self.text_rect(opt)
        metrics = QFontMetrics(opt.font)
        line = metrics.lineSpacing()
        top = rect.top() + max(0, (rect.height() - 2 * line) // 2)
        painter.save()
        painter.setFont(opt.font)
        painter.setPen(text_colour)
        painter.drawText(QRect(rect.left(), top, rect.width(), line), Qt.AlignmentFlag.AlignLeft, name)
        painter.setPen(folder_colour)
        painter.drawText(QRect(rect.left(), top + line, rect.width(), line), Qt.AlignmentFlag.AlignLeft, folder)
        painter.restore()

    def sizeHint(self, option, index) -> QSize:
        path, _ = self.path_of(index)
        metrics = QFontMetrics(option.font)
        return QSize(self.minimum_width(metrics, os.path.basename(path)), self.row_height(metrics))

    def minimum_width(self, metrics: QFontMetrics, name: str = "") -> int:
        """The width a cell needs to show `name` (by default any typical article-number name) whole."""
        text = max((metrics.horizontalAdvance(n) for n in ((name,) if name else NAME_SAMPLES)))
        return 2 * PAD + self.thumb_box().width() + GAP + text + 2

    def row_height(self, metrics: QFontMetrics) -> int:
        return 2 * PAD + max(self.thumb_height, 2 * metrics.lineSpacing())

    def helpEvent(self, event, view, option, index) -> bool:
        """The full path on disk on hover: the cell shows the name and only the end of the folder."""
        if event.type() == QEvent.Type.ToolTip and index.isValid():
            session = self.session_of()
            path, raw = self.path_of(index)
            QToolTip.showText(event.globalPos(), session.abs_path(raw) if session is not None else path, view)
            return True
        return super().helpEvent(event, view, option, index)


class PairQueueLook(QObject):
    """Sets up the queue table: picture cells, row height and column widths that follow the font, the screen and
    the Thumbnail size setting. Keep it as long as the table."""

    def __init__(self, table: QTableView, session_of: Callable[[], Optional[object]]):
        super().__init__(table)
        self.table = table
        self.thumbnails = ThumbnailStore(session_of, self)
        self.thumbnails.arrived.connect(table.viewport().update)
        self.delegate = PictureCellDelegate(table, self.thumbnails, session_of)
        for column in PICTURE_COLUMNS:
            table.setItemDelegateForColumn(column, self.delegate)
        table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        table.setWordWrap(False)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for column in PICTURE_COLUMNS:
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # one height: fast at 100k rows
        self._later = QTimer(self)  # owned: it goes with the table, never fires on a deleted one
        self._later.setSingleShot(True)
        self._later.timeout.connect(self.update_layout)
        header.sectionResized.connect(lambda *_: self.update_layout_later())
        table.model().modelReset.connect(self.update_layout_later)
        table.installEventFilter(self)
        self.update_layout()

    def set_thumbnail_size(self, size: int) -> None:
        self.delegate.thumb_height = queue_thumbnail_height(size)
        self.update_layout()
        self.table.viewport().update()

    def update_layout_later(self) -> None:
        """Once, after the current burst of changes (a model reset resizes every column)."""
        self._later.start(0)

    def update_layout(self) -> None:
        """Row height from the font and the thumbnails; a minimum width that keeps every column and a whole
        article-number file name in each picture column."""
        table, header = self.table, self.table.horizontalHeader()
        metrics = QFontMetrics(table.font())
        table.verticalHeader().setDefaultSectionSize(self.delegate.row_height(metrics))
        self.thumbnails.configure(load_side(self.delegate.thumb_height, table), table.devicePixelRatioF())
        picture = self.delegate.minimum_width(metrics)
        others = sum(header.sectionSize(c) for c in range(header.count())
                     if c not in PICTURE_COLUMNS and not header.isSectionHidden(c))
        frame = 2 * table.frameWidth() + table.verticalScrollBar().sizeHint().width()
        table.setMinimumWidth(others + len(PICTURE_COLUMNS) * picture + frame)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.table and event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange,
                                                       QEvent.Type.DevicePixelRatioChange):
            self.update_layout_later()
        return False
