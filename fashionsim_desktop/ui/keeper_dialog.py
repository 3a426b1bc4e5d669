"""The keeper policy in the window: its settings dialog, and the preview of applying it to every merge group.

The policy belongs to the catalogue (core/keeper.py stores it), so the window, the export and `fashionsim
keeper-policy` always agree; this dialog only edits a `Policy` value, and the window saves it.
"""
from __future__ import annotations

import os
from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QFileDialog, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QListWidget, QListWidgetItem, QPushButton, QTableView,
                               QVBoxLayout, QWidget)

from ..core import keeper
from ..core.bulk import KeeperPlan
from .models import RowsModel

KEY_ROLE = Qt.ItemDataRole.UserRole


def reason_text(reason: str, name: str) -> str:
    """"keeper a.jpg: the other is a mirrored copy" -> "a.jpg — the other is a mirrored copy" (the core's
    sentence, worded for a table cell)."""
    prefix = f"keeper {name}: "
    return f"{name} — {reason[len(prefix):]}" if reason.startswith(prefix) else reason


class OrderedChecklist(QWidget):
    """Entries in an order the curator sets with Up / Down, each used or not by its checkbox."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.list = QListWidget(self)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.up_button = QPushButton("Up", self)
        self.down_button = QPushButton("Down", self)
        self.up_button.clicked.connect(lambda: self.move(-1))
        self.down_button.clicked.connect(lambda: self.move(1))
        buttons = QVBoxLayout()
        buttons.addWidget(self.up_button)
        buttons.addWidget(self.down_button)
        buttons.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)

    def set_entries(self, entries: list[tuple[str, str, bool]]) -> None:
        """(key, text, used), in order."""
        self.list.clear()
        for key, text, used in entries:
            item = QListWidgetItem(text, self.list)
            item.setData(KEY_ROLE, key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if used else Qt.CheckState.Unchecked)
        self.list.setCurrentRow(0)

    def keys(self) -> list[str]:
        return [self.list.item(r).data(KEY_ROLE) for r in range(self.list.count())]

    def used(self) -> list[str]:
        """The checked keys, in the list's order."""
        return [self.list.item(r).data(KEY_ROLE) for r in range(self.list.count())
                if self.list.item(r).checkState() == Qt.CheckState.Checked]

    def row_of(self, key: str) -> int:
        return self.keys().index(key)

    def set_used(self, key: str, used: bool) -> None:
        self.list.item(self.row_of(key)).setCheckState(Qt.CheckState.Checked if used else Qt.CheckState.Unchecked)

    def move(self, step: int, row: Optional[int] = None) -> None:
        """Move the current entry (or `row`) up (-1) or down (+1), keeping it selected."""
        row = self.list.currentRow() if row is None else row
        target = row + step
        if row < 0 or not 0 <= target < self.list.count():
            return
        item = self.list.takeItem(row)
        self.list.insertItem(target, item)
        self.list.setCurrentRow(target)


class KeeperPolicyDialog(QDialog):
    """Criteria in order (each used or not), reference folders, preferred formats. `policy()` is the result."""

    def __init__(self, policy: keeper.Policy, root: Optional[str], parent=None):
        super().__init__(parent)
        self.root = root  # the indexed folder: reference folders inside it are stored relative to it
        self.setWindowTitle("Keeper policy")
        intro = QLabel("Which picture of a merge group stays? The first criterion that tells two pictures apart "
                       "decides; the next ones only break its ties. A keeper you choose yourself (★ in Groups) "
                       "always wins. Saved in this catalogue: the export and the command line use it too.", self)
        intro.setWordWrap(True)
        self.criteria = OrderedChecklist(self)
        self.criteria.list.setObjectName("criteria")
        self.folders = QListWidget(self)
        self.add_folder_button = QPushButton("Add…", self)
        self.remove_folder_button = QPushButton("Remove", self)
        self.add_folder_button.clicked.connect(self.choose_reference_folder)
        self.remove_folder_button.clicked.connect(self.remove_reference_folder)
        self.formats = OrderedChecklist(self)
        self.formats.list.setObjectName("formats")
        defaults_button = QPushButton("Restore defaults", self)
        defaults_button.clicked.connect(lambda: self.show_policy(keeper.Policy()))

        criteria_box = QGroupBox("Criteria, most important first (untick one to leave it out)", self)
        QVBoxLayout(criteria_box).addWidget(self.criteria)
        folders_box = QGroupBox("Reference folders (their pictures are kept)", self)
        folder_buttons = QVBoxLayout()
        folder_buttons.addWidget(self.add_folder_button)
        folder_buttons.addWidget(self.remove_folder_button)
        folder_buttons.addStretch(1)
        folders_row = QHBoxLayout(folders_box)
        folders_row.addWidget(self.folders, 1)
        folders_row.addLayout(folder_buttons)
        formats_box = QGroupBox("Preferred file formats, first preferred", self)
        QVBoxLayout(formats_box).addWidget(self.formats)
        lower = QHBoxLayout()
        lower.addWidget(folders_box, 3)
        lower.addWidget(formats_box, 2)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.addButton(defaults_button, QDialogButtonBox.ButtonRole.ResetRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(criteria_box, 3)
        layout.addLayout(lower, 2)
        layout.addWidget(self.buttons)
        self.show_policy(policy)
        self.resize(760, 620)

    def show_policy(self, policy: keeper.Policy) -> None:
        unused = [name for name in keeper.CRITERIA if name not in policy.order]
        self.criteria.set_entries([(name, _sentence(keeper.CRITERIA[name].title), name in policy.order)
                                   for name in list(policy.order) + unused])
        self.folders.clear()
        self.folders.addItems(list(policy.reference_folders))
        others = [f for f in keeper.DEFAULT_FORMATS if f not in policy.formats]
        self.formats.set_entries([(f, f, f in policy.formats) for f in list(policy.formats) + others])

    def policy(self) -> keeper.Policy:
        folders = tuple(self.folders.item(r).text() for r in range(self.folders.count()))
        return keeper.Policy(tuple(self.criteria.used()), folders,
                             tuple(self.formats.used()) or keeper.DEFAULT_FORMATS)

    def add_reference_folder(self, folder: str) -> None:
        stored = keeper.reference_folder(self.root, folder)  # relative when inside the indexed folder
        if stored not in {self.folders.item(r).text() for r in range(self.folders.count())}:
            self.folders.addItem(stored)

    def choose_reference_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A reference folder: its pictures are always kept",
                                                  self.root or os.path.expanduser("~"))
        if folder:
            self.add_reference_folder(folder)

    def remove_reference_folder(self) -> None:
        row = self.folders.currentRow()
        if row >= 0:
            self.folders.takeItem(row)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


class KeeperPlanDialog(QDialog):
    """The preview of "Apply keeper policy to every group…": what the plan says, and each group's keeper and why."""

    def __init__(self, plan: KeeperPlan, parent=None):
        super().__init__(parent)
        self.plan = plan
        self.setWindowTitle("Preview: apply the keeper policy to every group")
        self.summary = QLabel(plan.describe() + ("\n\nOne undo step (Ctrl+Z) takes all of it back." if plan.choices
                                                 else "\n\nThere is nothing to do."), self)
        self.summary.setWordWrap(True)
        self.model = RowsModel(self, ("Keeper", "Why", "Merged into it"))
        self.model.set_rows([(g.keeper.path, reason_text(g.keeper_reason, os.path.basename(g.keeper.path)),
                              ", ".join(m.path for m in g.duplicates)) for g in plan.choices])
        self.list = QTableView(self)
        self.list.setModel(self.model)
        self.list.verticalHeader().setVisible(False)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.list.setWordWrap(True)
        header = self.list.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.list.setColumnWidth(0, 200)
        self.list.setColumnWidth(2, 220)
        self.list.resizeRowsToContents()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(f"Fix {len(plan.choices)} keepers")
        ok.setEnabled(bool(plan.choices))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.buttons)
        self.resize(900, 480)
