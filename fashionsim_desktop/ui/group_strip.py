"""The group list's rows: the group's line of text over a strip of its pictures' thumbnails.

A row shows up to `STRIP_MAX` pictures and "+N" for the rest; the pictures come from a ThumbnailStore (loaded in
the background, only for the rows painted).
"""
from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QFontMetrics, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from .thumbnails import PICTURE_ASPECT, ThumbnailStore, draw_thumbnail

PATHS_ROLE = Qt.ItemDataRole.UserRole + 20  # the group's pictures (absolute paths), in the order shown
STRIP_MAX = 6
PAD, GAP = 4, 4


def strip_thumbnail_height(thumbnail_size: int) -> int:
    """The strip's pictures grow with the Thumbnail size setting, within what keeps the list compact."""
    return max(36, min(96, round(thumbnail_size * 0.3)))


class GroupStripDelegate(QStyledItemDelegate):
    def __init__(self, parent, thumbnails: ThumbnailStore):
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.thumb_height = strip_thumbnail_height(160)

    def boxes(self, option: QStyleOptionViewItem, count: int) -> list[QRect]:
        """Where the first `count` thumbnails go (as many of STRIP_MAX as the row's width holds)."""
        line = QFontMetrics(option.font).lineSpacing()
        width = round(self.thumb_height * PICTURE_ASPECT)
        top = option.rect.top() + PAD + line + GAP
        room = max(1, (option.rect.width() - 2 * PAD + GAP) // (width + GAP))
        return [QRect(option.rect.left() + PAD + i * (width + GAP), top, width, self.thumb_height)
                for i in range(min(count, STRIP_MAX, room))]

    def paint(self, painter, option, index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text, opt.text = opt.text, ""
        widget = opt.widget
        if widget is not None:
            widget.style().drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        colour = opt.palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        metrics = QFontMetrics(opt.font)
        painter.save()
        painter.setPen(colour)
        painter.setFont(opt.font)
        painter.drawText(QRect(opt.rect.left() + PAD, opt.rect.top() + PAD, opt.rect.width() - 2 * PAD,
                               metrics.lineSpacing()), Qt.AlignmentFlag.AlignLeft,
                         metrics.elidedText(text, Qt.TextElideMode.ElideRight, opt.rect.width() - 2 * PAD))
        paths = index.data(PATHS_ROLE) or []
        boxes = self.boxes(opt, len(paths))
        if len(paths) > len(boxes) > 1:
            boxes.pop()  # room for "+N"
        for box, path in zip(boxes, paths):
            draw_thumbnail(painter, box, self.thumbnails.pixmap(path), opt.palette)
        if len(paths) > len(boxes) and boxes:
            more = boxes[-1].translated(boxes[-1].width() + GAP, 0)
            more.setWidth(metrics.horizontalAdvance(f"+{len(paths) - len(boxes)}") + 2)
            painter.drawText(more, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             f"+{len(paths) - len(boxes)}")
        painter.restore()

    def sizeHint(self, option, index) -> QSize:
        metrics = QFontMetrics(option.font)
        width = round(self.thumb_height * PICTURE_ASPECT)
        return QSize(2 * PAD + 3 * (width + GAP), 2 * PAD + metrics.lineSpacing() + GAP + self.thumb_height)
