"""Settings: a small typed layer over QSettings (an INI file in the per-user data folder), and its dialog.

OK in the dialog saves and emits `AppSettings.changed`: whoever shows a setting (the palette, the font size,
thumbnail sizes) applies it at once, no restart.
"""
from __future__ import annotations

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel,
                               QSpinBox)

from ..core.pairs import DEFAULT_MIN_SCORE
from ..core.pool import default_workers
from ..store.locations import data_home
from .palette import SYSTEM, THEMES

MAX_RECENT = 8
THUMB_RANGE = (64, 512)
FONT_RANGE = (7, 24)  # points; 0 = the system's size


class AppSettings(QSettings):
    """Typed accessors with defaults; window geometry and splitters are stored as raw values."""

    changed = Signal()  # the dialog saved new values

    def __init__(self, path=None):
        super().__init__(str(path or data_home() / "settings.ini"), QSettings.Format.IniFormat)

    def threshold(self) -> float:
        return float(self.value("review/threshold", DEFAULT_MIN_SCORE))

    def workers(self) -> int:
        return int(self.value("index/workers", default_workers()))

    def thumbnail_size(self) -> int:
        return min(max(int(self.value("view/thumbnail_size", 160)), THUMB_RANGE[0]), THUMB_RANGE[1])

    def theme(self) -> str:
        theme = str(self.value("view/theme", SYSTEM))
        return theme if theme in dict(THEMES) else SYSTEM

    def font_size(self) -> int:
        """Points, or 0 for the system's size."""
        size = int(self.value("view/font_size", 0))
        return size if FONT_RANGE[0] <= size <= FONT_RANGE[1] else 0

    def recent(self) -> list[str]:
        value = self.value("recent/folders", [])
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if v]

    def add_recent(self, folder: str) -> None:
        folders = [folder] + [f for f in self.recent() if f != folder]
        self.setValue("recent/folders", folders[:MAX_RECENT])


class SettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Settings")
        self.threshold = QDoubleSpinBox(self, decimals=2, minimum=0.05, maximum=1.0, singleStep=0.05,
                                        value=settings.threshold())
        self.workers = QSpinBox(self, minimum=1, maximum=32, value=settings.workers())
        self.thumbs = QSpinBox(self, minimum=THUMB_RANGE[0], maximum=THUMB_RANGE[1], singleStep=16,
                               value=settings.thumbnail_size(), suffix=" px")
        self.theme = QComboBox(self)
        for value, label in THEMES:
            self.theme.addItem(label, value)
        self.theme.setCurrentIndex(self.theme.findData(settings.theme()))
        # 0 shows as "System size": the spin box's lowest value stands for "not chosen".
        self.font_size = QSpinBox(self, minimum=FONT_RANGE[0] - 1, maximum=FONT_RANGE[1], suffix=" pt",
                                  value=settings.font_size() or FONT_RANGE[0] - 1)
        self.font_size.setSpecialValueText("System size")
        form = QFormLayout(self)
        form.addRow("Duplicate score threshold", self.threshold)
        form.addRow(QLabel(f"<small>Pairs scoring below this are not proposed. Default {DEFAULT_MIN_SCORE}: "
                           "measured for high precision.</small>"))
        form.addRow("Worker processes for indexing", self.workers)
        form.addRow("Thumbnail size", self.thumbs)
        form.addRow(QLabel("<small>Catalogue, search results and group members; the review queue and the group "
                           "list show smaller ones that grow with it.</small>"))
        form.addRow("Palette", self.theme)
        form.addRow("Font size", self.font_size)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def accept(self) -> None:
        self.settings.setValue("review/threshold", self.threshold.value())
        self.settings.setValue("index/workers", self.workers.value())
        self.settings.setValue("view/thumbnail_size", self.thumbs.value())
        self.settings.setValue("view/theme", self.theme.currentData())
        font = self.font_size.value()
        self.settings.setValue("view/font_size", font if font >= FONT_RANGE[0] else 0)
        self.settings.sync()
        super().accept()
        self.settings.changed.emit()
