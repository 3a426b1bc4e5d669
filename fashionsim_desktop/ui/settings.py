"""Settings: a small typed layer over QSettings (an INI file in the per-user data folder), and its dialog."""
from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QSpinBox

from ..core.pairs import DEFAULT_MIN_SCORE
from ..core.pool import default_workers
from ..store.locations import data_home

MAX_RECENT = 8


class AppSettings(QSettings):
    """Typed accessors with defaults; window geometry and splitters are stored as raw values."""

    def __init__(self, path=None):
        super().__init__(str(path or data_home() / "settings.ini"), QSettings.Format.IniFormat)

    def threshold(self) -> float:
        return float(self.value("review/threshold", DEFAULT_MIN_SCORE))

    def workers(self) -> int:
        return int(self.value("index/workers", default_workers()))

    def thumbnail_size(self) -> int:
        return int(self.value("view/thumbnail_size", 160))

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
        self.thumbs = QSpinBox(self, minimum=64, maximum=512, singleStep=16, value=settings.thumbnail_size())
        form = QFormLayout(self)
        form.addRow("Duplicate score threshold", self.threshold)
        form.addRow(QLabel(f"<small>Pairs scoring below this are not proposed. Default {DEFAULT_MIN_SCORE}: "
                           "measured for high precision.</small>"))
        form.addRow("Worker processes for indexing", self.workers)
        form.addRow("Thumbnail size (pixels)", self.thumbs)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def accept(self) -> None:
        self.settings.setValue("review/threshold", self.threshold.value())
        self.settings.setValue("index/workers", self.workers.value())
        self.settings.setValue("view/thumbnail_size", self.thumbs.value())
        self.settings.sync()
        super().accept()
