"""The product filters shared by the pair queue, the search results and the catalogue browser: category,
colour, product (id, group or SKU) and folder. The choices come from the product data the session loaded."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QWidget

from .models import ProductFilter

NO_DATA_TIP = "Import product data first (File ▸ Import Product Data…) to filter by it."


class FilterBar(QWidget):
    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.category = self._combo("Any category")
        self.colour = self._combo("Any colour")
        self.product = QLineEdit(self, placeholderText="Product id, group or SKU…")
        self.folder = QLineEdit(self, placeholderText="Folder contains…")
        self.product.setMinimumWidth(self.product.fontMetrics().horizontalAdvance(self.product.placeholderText()) + 16)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.category, self.colour, self.product, self.folder):
            layout.addWidget(widget)
        self.product.textChanged.connect(self.changed)
        self.folder.textChanged.connect(self.changed)
        self.set_choices(None)

    def _combo(self, any_text: str) -> QComboBox:
        combo = QComboBox(self)
        combo.addItem(any_text, "")
        # Long category names must not widen the whole row.
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(14)
        combo.currentIndexChanged.connect(self.changed)
        return combo

    def set_choices(self, session) -> None:
        """The categories and colours the session's product data holds; a chosen one stays chosen."""
        choices = session.choices if session is not None else {}
        has_data = bool(session is not None and session.products)
        before = self.value()
        for combo, field in ((self.category, "category"), (self.colour, "colour")):
            values = choices.get(field, [])
            current = combo.currentData()
            combo.blockSignals(True)
            while combo.count() > 1:
                combo.removeItem(1)
            for value in values:
                combo.addItem(value, value)
            combo.setCurrentIndex(max(0, combo.findData(current)) if current else 0)
            combo.blockSignals(False)
        for widget in (self.category, self.colour, self.product):
            widget.setEnabled(has_data)
            widget.setToolTip("" if has_data else NO_DATA_TIP)
        if self.value() != before:  # a chosen value left the data (another import): say so
            self.changed.emit()

    def value(self) -> ProductFilter:
        return ProductFilter(category=self.category.currentData() or "", colour=self.colour.currentData() or "",
                             product=self.product.text().strip(), folder=self.folder.text().strip())

    def choose(self, category: str = "", colour: str = "") -> None:
        """Pick a category and colour by their text (as a curator would in the lists)."""
        for combo, value in ((self.category, category), (self.colour, colour)):
            combo.setCurrentIndex(max(0, combo.findData(value)) if value else 0)
