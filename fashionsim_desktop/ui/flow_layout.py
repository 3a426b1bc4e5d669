"""A layout that places widgets in a row and wraps them onto more rows when the room runs out.

For rows of buttons beside the pair queue: a row of fixed buttons would claim its full width as a minimum and,
with a large font or at 150 %, squeeze the queue; wrapped buttons only need the widest one.
"""
from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QSizePolicy


class FlowLayout(QLayout):
    def __init__(self, parent=None, spacing: int = -1):
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self._room_before: dict[int, int] = {}  # item position -> extra room before it (addSpacing)
        self.setContentsMargins(QMargins(0, 0, 0, 0))

    # -- QLayout ------------------------------------------------------------------------------------------
    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def addSpacing(self, size: int) -> None:
        """Extra room before the next widget when it is on the same row (a group break between buttons)."""
        self._room_before[len(self._items)] = size

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int):
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int):
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    # -- placing ------------------------------------------------------------------------------------------
    def _gap(self, item: QLayoutItem, orientation: Qt.Orientation) -> int:
        if self._spacing >= 0:
            return self._spacing
        widget = item.widget()
        style = widget.style() if widget is not None else None
        gap = style.layoutSpacing(QSizePolicy.ControlType.PushButton, QSizePolicy.ControlType.PushButton,
                                  orientation) if style is not None else -1
        return gap if gap >= 0 else 6  # some styles leave the spacing to the layout

    def _place(self, rect: QRect, move: bool) -> int:
        """Lay the items out left to right, wrapping; returns the height used."""
        margins = self.contentsMargins()
        area = rect.marginsRemoved(margins)
        x, y, row_height = area.x(), area.y(), 0
        for position, item in enumerate(self._items):
            if item.widget() is not None and item.widget().isHidden():
                continue
            hint = item.sizeHint()
            gap_x = self._gap(item, Qt.Orientation.Horizontal)
            if x > area.x():
                x += self._room_before.get(position, 0)
            if x + hint.width() > area.right() + 1 and row_height > 0:  # no room left on this row: wrap
                x = area.x()
                y += row_height + self._gap(item, Qt.Orientation.Vertical)
                row_height = 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + gap_x
            row_height = max(row_height, hint.height())
        return y + row_height - rect.y() + margins.bottom()

