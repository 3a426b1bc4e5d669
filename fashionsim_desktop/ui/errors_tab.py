"""Files that could not be read, with the reason, and a way to reveal each in the file manager."""
from __future__ import annotations

import os

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableView, QVBoxLayout, QWidget

from .models import ErrorsModel


def reveal_in_file_manager(abs_path: str) -> bool:
    """Open the folder holding the file (portable: every desktop opens a folder URL)."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(abs_path) or abs_path))


class ErrorsTab(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.session = None
        self.model = ErrorsModel(self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.doubleClicked.connect(lambda _: self.reveal_selected())
        self.summary = QLabel(self)
        self.reveal_button = QPushButton("Reveal in file manager", self)
        self.reveal_button.clicked.connect(self.reveal_selected)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.reveal_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)

    def set_session(self, session) -> None:
        self.session = session
        self.refresh()

    def refresh(self) -> None:
        rows = self.session.errors() if self.session else []
        self.model.set_rows(rows)
        files = "1 file was" if len(rows) == 1 else f"{len(rows)} files were"
        self.summary.setText(f"{files} unreadable and skipped; everything else was indexed."
                             if rows else "Every file was read.")

    def selected_path(self):
        index = self.table.currentIndex()
        if not index.isValid() or self.session is None:
            return None
        return os.path.join(str(self.session.folder), self.model.rows[index.row()][0])

    def reveal_selected(self) -> None:
        path = self.selected_path()
        if path:
            reveal_in_file_manager(path)
