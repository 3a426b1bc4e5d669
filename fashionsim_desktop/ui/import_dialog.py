"""File ▸ Import Product Data…: which column of the catalogue system's CSV holds what, then the import.

The file is read in the background; the columns FashionSim recognised are preselected (core/products.py's
detect_mapping) and each can be changed. The preview shows the first rows as they would be imported. The
import runs in a worker and the dialog then says what it did.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHeaderView,
                               QLabel, QPushButton, QTableView, QVBoxLayout)

from ..core.products import FIELDS, ImportReport, Mapping, Table, detect_mapping
from .models import RowsModel

PREVIEW_ROWS = 5
FIELD_LABELS = {"image_key": "Image key (names the picture)", "product_id": "Product id", "sku": "SKU",
                "product_group": "Product group", "colour": "Colour", "category": "Category / type",
                "name": "Name"}
SHORT_LABELS = {"image_key": "Image key", "category": "Category"}
NOT_IN_FILE = "— not imported —"


class ImportDialog(QDialog):
    imported = Signal(object)  # the ImportReport, once the rows are saved

    def __init__(self, session, path: Path, parent=None):
        super().__init__(parent)
        self.session = session
        self.path = Path(path)
        self.table: Optional[Table] = None
        self.report: Optional[ImportReport] = None
        self.importing = False  # while the worker saves rows the dialog stays open: closing would hide the outcome
        self.setWindowTitle(f"Import product data — {self.path.name}")
        intro = QLabel("Choose which column of the file holds each field. FashionSim chose the columns it "
                       "recognised; change any of them. The image key names the picture: a file name, a path, a "
                       "URL or an id that is the file name without its extension.", self)
        intro.setWordWrap(True)
        self.combos: dict[str, QComboBox] = {}
        form = QFormLayout()
        for field in FIELDS:
            combo = QComboBox(self)
            combo.setEnabled(False)
            combo.currentIndexChanged.connect(self._mapping_changed)
            combo.setObjectName(f"map_{field}")
            self.combos[field] = combo
            form.addRow(FIELD_LABELS[field], combo)
        self.preview_label = QLabel("Reading the file…", self)
        self.preview_model = RowsModel(self)
        self.preview = QTableView(self)
        self.preview.setModel(self.preview_model)
        self.preview.verticalHeader().setVisible(False)
        self.preview.verticalHeader().setDefaultSectionSize(22)
        self.preview.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.preview.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.preview.setWordWrap(False)
        self.status = QLabel(self)  # what went wrong, or what the import did
        self.status.setWordWrap(True)
        self.status.setObjectName("import_status")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.import_button: QPushButton = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.ApplyRole)
        self.import_button.setEnabled(False)
        self.import_button.setDefault(True)
        self.import_button.clicked.connect(self.start_import)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.preview_label)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.resize(820, 560)
        session.read_product_file(self.path, self._table_read, self._failed)

    # -- the file ----------------------------------------------------------------------------------
    def _table_read(self, table: Table) -> None:
        self.table = table
        detected = detect_mapping(table.headers)
        for field, combo in self.combos.items():
            combo.blockSignals(True)
            combo.addItem(NOT_IN_FILE, None)
            for header in table.headers:
                combo.addItem(header, header)
            combo.setCurrentIndex(max(0, combo.findData(getattr(detected, field))))
            combo.setEnabled(True)
            combo.blockSignals(False)
        self._mapping_changed()

    def mapping(self) -> Mapping:
        mapping = Mapping()
        for field, combo in self.combos.items():
            mapping.set(field, combo.currentData(), self.table.headers if self.table else [])
        return mapping

    def choose(self, field: str, column: Optional[str]) -> None:
        """Map a field to a column by its header (None: leave the field out), as choosing it in the list does."""
        combo = self.combos[field]
        combo.setCurrentIndex(combo.findData(column) if column else 0)

    def _mapping_changed(self) -> None:
        if self.table is None:
            return
        mapping = self.mapping().columns()
        used = [f for f in FIELDS if mapping[f]]
        self.preview_model.set_columns(tuple(SHORT_LABELS.get(f, FIELD_LABELS[f]) for f in used))
        positions = [self.table.headers.index(mapping[f]) for f in used]
        self.preview_model.set_rows([tuple(row[i] if i < len(row) else "" for i in positions)
                                     for row in self.table.rows[:PREVIEW_ROWS]])
        rows = len(self.table.rows)
        self.preview_label.setText(f"The first {min(rows, PREVIEW_ROWS)} of {rows} rows, as they would be imported:")
        has_key = bool(mapping["image_key"])
        self.status.setText("" if has_key else "Choose the column that names the pictures (the image key).")
        self.import_button.setEnabled(has_key and self.report is None)

    # -- the import --------------------------------------------------------------------------------
    def start_import(self) -> None:
        if self.table is None or self.importing or self.report is not None:
            return
        self.importing = True
        self.import_button.setEnabled(False)
        for combo in self.combos.values():
            combo.setEnabled(False)
        self.status.setText(f"Importing {len(self.table.rows)} rows…")
        self.session.import_product_data(self.table, self.mapping(), self._imported, self._failed)

    def _imported(self, report: ImportReport) -> None:
        self.importing = False
        self.report = report
        self.table = None  # a big file's rows are no longer needed
        lines = [f"<b>{report.rows} rows read.</b> {report.matched_rows} rows matched "
                 f"<b>{report.pictures} pictures</b>.",
                 f"{report.waiting_rows} rows are waiting for their pictures: they are attached when indexing "
                 "finds them."]
        if report.without_key:
            lines.append(f"{report.without_key} rows have no image key and were left out.")
        if report.ambiguous_keys:
            lines.append(f"{report.ambiguous_keys} image keys name more than one picture; each got the row.")
        self.status.setText("<br>".join(lines))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Close")
        self.imported.emit(report)

    def _failed(self, message: str) -> None:
        self.importing = False
        self.status.setText(f"<span style='color:#b00020'>{message}</span>")
        if self.table is None:
            self.preview_label.setText(f"{os.path.basename(self.path)} could not be read.")
        else:
            for combo in self.combos.values():
                combo.setEnabled(True)
            self._mapping_changed()

    def reject(self) -> None:
        if self.importing:
            return
        super().reject()
