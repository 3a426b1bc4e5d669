"""Start the desktop app: logging, the exception hook, settings, and the main window.

The window follows the look settings (palette, font size, thumbnail size) from the start and again each time
Settings is closed with OK (`follow_settings`).
"""
from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from ..store.locations import log_dir
from .palette import Appearance

log = logging.getLogger("fashionsim")
ICON = Path(__file__).resolve().parents[2] / "resources" / "icons" / "fashionsim.png"


def setup_logging() -> Path:
    directory = log_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "fashionsim.log"
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


class ErrorReporter(QObject):
    """Shows unexpected errors to the person in a readable dialog, always from the UI thread."""

    report = Signal(str)

    def __init__(self, log_path: Path):
        super().__init__()
        self.log_path = log_path
        self.report.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def hook(self, exc_type, exc, tb) -> None:
        log.error("unexpected error\n%s", "".join(traceback.format_exception(exc_type, exc, tb)))
        self.report.emit(f"{exc_type.__name__}: {exc}")

    @Slot(str)
    def _show(self, text: str) -> None:
        if os.environ.get("FASHIONSIM_NO_DIALOGS"):
            return
        QMessageBox.critical(None, "FashionSim — something went wrong",
                             f"FashionSim met an unexpected problem and carried on:\n\n{text}\n\n"
                             f"Your decisions are saved. Details are in the log file:\n{self.log_path}")


def install_exception_hook(reporter: ErrorReporter) -> None:
    sys.excepthook = reporter.hook
    threading.excepthook = lambda args: reporter.hook(args.exc_type, args.exc_value, args.exc_traceback)


def create_window(argv: list[str]):
    """Build the window (used by run_app and by tests)."""
    from .main_window import MainWindow
    from .settings import AppSettings

    window = MainWindow(AppSettings())
    follow_settings(window)
    if ICON.exists():
        window.setWindowIcon(QIcon(str(ICON)))
    folder = next((a for a in argv if not a.startswith("-")), None)
    if folder:
        window.show()
        window.open_folder(Path(folder))
    return window


_appearance: list[Appearance] = []  # one per application: it remembers the platform's style and font


def follow_settings(window) -> None:
    """Apply the palette, font size and thumbnail sizes now, and whenever Settings is closed with OK."""
    app = QApplication.instance()
    if not _appearance or _appearance[0].app is not app:
        _appearance[:] = [Appearance(app)]
    appearance = _appearance[0]

    def apply() -> None:
        settings = window.settings
        appearance.apply(settings.theme(), settings.font_size())
        size = settings.thumbnail_size()
        window.review.queue_look.set_thumbnail_size(size)
        window.groups.set_thumbnail_size(size)
        window.browser.set_thumbnail_size(size)
        window.search.set_thumbnail_size(size)

    apply()
    window.settings.changed.connect(apply)


def run_app(argv: list[str]) -> int:
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("FashionSim Desktop")
    app.setOrganizationName("FashionSim")
    log_path = setup_logging()
    reporter = ErrorReporter(log_path)
    install_exception_hook(reporter)
    window = create_window(argv)
    window.show()
    if os.environ.get("FASHIONSIM_SMOKE_QUIT"):
        _quit_when_loaded(app, window)
    return app.exec()


def _quit_when_loaded(app, window) -> None:
    """Packaging smoke test: report when the window is up and the catalogue loaded, then quit cleanly."""
    import time

    from PySide6.QtCore import QTimer

    print(f"smoke: first window shown at {time.time():.3f}", flush=True)
    print(f"smoke: icon {'missing' if window.windowIcon().isNull() else 'ok'}", flush=True)
    timer = QTimer(window)

    def check():
        if window.index_worker is None and (window.session is None or window.review.model.rowCount() > 0):
            timer.stop()
            pairs = window.review.model.rowCount()
            print(f"smoke: catalogue loaded, {pairs} pairs; quitting", flush=True)
            window.close()
            app.quit()

    timer.timeout.connect(check)
    timer.start(200)
