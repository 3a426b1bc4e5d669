"""Progress of a long job (indexing, an intake check): a bar per phase with counts, rate and time left, and Cancel.

Time left is a promise about a running job: once the job stops (cancelled, failed or finished) no phase shows it.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QPushButton, QWidget

from ..core.progress import PHASE_LABELS, PhaseStatus


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


class ProgressPanel(QWidget):
    cancelRequested = Signal()

    def __init__(self, parent=None, phases: tuple[tuple[str, str], ...] = tuple(PHASE_LABELS.items())):
        """`phases`: (phase, label) in the order the job runs them (default: indexing's)."""
        super().__init__(parent)
        grid = QGridLayout(self)
        self.phases = tuple(phase for phase, _ in phases)
        self.bars: dict[str, QProgressBar] = {}
        self.details: dict[str, QLabel] = {}
        for row, (phase, label) in enumerate(phases):
            grid.addWidget(QLabel(label), row, 0)
            bar = QProgressBar(self)
            bar.setRange(0, 1)
            bar.setValue(0)
            bar.setObjectName(f"progress_{phase}")
            detail = QLabel("waiting", self)
            detail.setMinimumWidth(260)
            grid.addWidget(bar, row, 1)
            grid.addWidget(detail, row, 2)
            self.bars[phase], self.details[phase] = bar, detail
        self.last: dict[str, PhaseStatus] = {}  # each phase's latest report, to say where it stopped
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("cancel_index")
        self.cancel_button.clicked.connect(self.cancelRequested)
        grid.addWidget(self.cancel_button, 0, 3, len(self.phases), 1)
        grid.setColumnStretch(1, 1)

    def reset(self) -> None:
        self.last = {}
        for phase in self.phases:
            self.bars[phase].setRange(0, 1)
            self.bars[phase].setValue(0)
            self.details[phase].setText("waiting")
        self.cancel_button.setEnabled(True)

    def update_status(self, status: PhaseStatus) -> None:
        bar, detail = self.bars.get(status.phase), self.details.get(status.phase)
        if bar is None:
            return
        # Mark earlier phases complete: phases run in order. Their rate and time left are history now.
        for phase in self.phases[:self.phases.index(status.phase)]:
            if not self._complete(phase):
                self.bars[phase].setRange(0, 1)
                self.bars[phase].setValue(1)
                earlier = self.last.get(phase)
                self.details[phase].setText(f"{_counts(earlier)} · done" if earlier is not None else "done")
        if status.total > 0:
            bar.setRange(0, status.total)
            bar.setValue(min(status.done, status.total))
        else:
            bar.setRange(0, 0)  # busy: total not known yet
        self.last[status.phase] = status
        text = _counts(status)
        if status.elapsed > 0.5 and status.done:
            text += f" · {status.rate:,.0f}/s"
        left = status.remaining_seconds
        if left is not None and status.done < status.total:
            text += f" · about {_duration(left)} left"
        elif status.total and status.done >= status.total:
            text += " · done"
        detail.setText(text)

    def finish(self, message: str) -> None:
        """The job ended (`message`: "stopped", "done"): each unfinished phase says where it got to, without the
        rate or the time left it showed while running."""
        for phase in self.phases:
            if self._complete(phase):
                continue
            if self.bars[phase].maximum() == 0:  # a busy bar would go on moving
                self.bars[phase].setRange(0, 1)
            status = self.last.get(phase)
            self.details[phase].setText(f"{_counts(status)} · {message}" if status is not None else message)
        self.cancel_button.setEnabled(False)

    def _complete(self, phase: str) -> bool:
        bar = self.bars[phase]
        return bar.maximum() > 0 and bar.value() >= bar.maximum()

    def time_left_shown(self) -> bool:
        return any(" left" in label.text() for label in self.details.values())


def _counts(status: PhaseStatus) -> str:
    return f"{status.done:,}" + (f" of {status.total:,}" if status.total else "")
