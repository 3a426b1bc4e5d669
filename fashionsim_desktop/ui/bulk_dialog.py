"""The preview of a bulk decision: what the core's plan says it would do, and every pair it would decide.

Nothing is decided until the curator agrees; the window then applies the plan as one undo step.
"""
from __future__ import annotations

from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QInputDialog, QLabel,
                               QTableView, QVBoxLayout)

from ..core.bulk import BulkPlan
from .models import RowsModel


class BulkDialog(QDialog):
    def __init__(self, plan: BulkPlan, parent=None):
        super().__init__(parent)
        self.plan = plan
        self.setWindowTitle("Preview: " + plan.describe().split(".")[0])
        self.summary = QLabel(plan.describe() + ("\n\nOne undo step (Ctrl+Z) takes all of it back." if plan.pairs
                                                 else "\n\nThere is nothing to do."), self)
        self.summary.setWordWrap(True)
        self.model = RowsModel(self, ("Score", "Kind", "Picture A", "Picture B"))
        self.model.set_rows([(f"{p.score:.3f}", p.kind, p.path_a, p.path_b) for p in plan.pairs])
        self.list = QTableView(self)
        self.list.setModel(self.model)
        self.list.verticalHeader().setVisible(False)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.list.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        verb = {"merge": "Merge", "keep": "Keep", "skip": "Skip"}.get(plan.decision, plan.decision)
        ok.setText(f"{verb} {len(plan.pairs)} pairs")
        ok.setEnabled(bool(plan.pairs))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.buttons)
        self.resize(760, 480)


def score_question(parent, value: float) -> QInputDialog:
    """Asks for the lowest score of the duplicate pairs to merge."""
    dialog = QInputDialog(parent)
    dialog.setWindowTitle("Merge every duplicate pair scoring at least…")
    dialog.setLabelText("Merge every duplicate pair (not the exact copies) whose score is at least:\n"
                        "1.00 = certainly the same photo. You see every pair before anything is merged.")
    dialog.setInputMode(QInputDialog.InputMode.DoubleInput)
    dialog.setDoubleRange(0.0, 1.0)
    dialog.setDoubleDecimals(2)
    dialog.setDoubleStep(0.01)
    dialog.setDoubleValue(value)
    return dialog
