"""Does the window stay responsive? Longest event-loop stall while indexing and while reviewing.

    QT_QPA_PLATFORM=offscreen python -m benchmarks.ui_responsiveness [--images N]

A 10 ms timer runs throughout; a stall is the gap between two ticks minus 10 ms. Printed for three stretches:
opening + indexing N real packshots, loading the results, and 200 review keystrokes (decide / next / undo).
Target: no stall over 100 ms.
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


class StallMeter:
    def __init__(self):
        from PySide6.QtCore import QTimer

        self.last = time.perf_counter()
        self.worst = 0.0
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self):
        now = time.perf_counter()
        self.worst = max(self.worst, now - self.last - 0.010)
        self.last = now

    def take(self) -> float:
        worst, self.worst, self.last = self.worst, 0.0, time.perf_counter()
        return worst * 1000


def main(argv=None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["FASHIONSIM_NO_DIALOGS"] = "1"
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=600)
    args = parser.parse_args(argv)
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    def wait(ms: int) -> None:
        # QTest.qWait holds the GIL while it sleeps, starving the app's worker threads: sleep in Python.
        end = time.perf_counter() + ms / 1000
        while time.perf_counter() < end:
            QApplication.processEvents()
            time.sleep(0.003)

    from PySide6.QtWidgets import QApplication

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FASHIONSIM_HOME"] = str(Path(tmp) / "home")
        folder = Path(tmp) / "catalogue"
        folder.mkdir()
        for p in sorted((SHARED / "hm_dev" / "images").rglob("*.jpg"))[: args.images]:
            shutil.copyfile(p, folder / p.name)
        app = QApplication([])  # noqa: F841 (the application must live while the window does)
        from fashionsim_desktop.ui.main_window import MainWindow
        from fashionsim_desktop.ui.settings import AppSettings

        window = MainWindow(AppSettings())
        window.resize(1400, 900)
        window.show()
        meter = StallMeter()
        start = time.perf_counter()
        window.open_folder(folder)
        while window.index_worker is not None:
            wait(20)
        print(f"indexing {args.images} packshots: {time.perf_counter() - start:.1f} s, "
              f"longest event-loop stall {meter.take():.0f} ms")
        wait(500)
        print(f"loading results ({window.review.model.rowCount()} pairs): longest stall {meter.take():.0f} ms")
        review = window.review
        review.setFocus()
        keys = [Qt.Key.Key_M, Qt.Key.Key_Right, Qt.Key.Key_K, Qt.Key.Key_Right]
        start = time.perf_counter()
        for i in range(200):
            QTest.keyClick(review, keys[i % 4])
            wait(15)
            if i % 10 == 9:
                QTest.keyClick(review, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        print(f"200 review keystrokes: {time.perf_counter() - start:.1f} s, longest stall {meter.take():.0f} ms")
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
