"""Take the README's screenshots of the real window (run under Xvfb, or any display).

    xvfb-run -s "-screen 0 1600x1000x24" python resources/screenshots/make_screenshots.py FOLDER [OUT_DIR]

Opens FOLDER, waits for indexing, then saves one PNG per view: review, difference view, groups, visual search
(searching with a mirrored, cropped copy of a catalogue picture), unreadable files, and indexing in progress.
"""
from __future__ import annotations

import sys
import time
import tempfile
from pathlib import Path


def main() -> int:
    from PIL import Image, ImageOps
    from PySide6.QtCore import Qt

    def wait(ms: int) -> None:
        # QTest.qWait holds the GIL while it sleeps, starving the app's worker threads: sleep in Python.
        end = time.perf_counter() + ms / 1000
        while time.perf_counter() < end:
            QApplication.processEvents()
            time.sleep(0.003)

    from PySide6.QtWidgets import QApplication

    from fashionsim_desktop.ui.app import create_window

    folder = Path(sys.argv[1])
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication([])  # noqa: F841 (the application must live while the window does)
    window = create_window([])
    window.resize(1500, 920)
    window.show()
    window.open_folder(folder)
    for _ in range(40):  # catch the progress panel mid-run
        wait(100)
        if window.progress.bars["features"].value() > 0:
            break
    window.grab().save(str(out / "indexing.png"))
    while window.index_worker is not None:
        wait(100)
    review = window.review
    wait(2000)  # the progress panel folds away after a finished run
    # Show a near pair (the more interesting case) if there is one.
    near = next((r for r in range(review.proxy.rowCount())
                 if review.proxy.data(review.proxy.index(r, 0), Qt.ItemDataRole.UserRole + 1).kind == "near"), 0)
    review.select_proxy_row(near)
    wait(1200)
    window.grab().save(str(out / "review.png"))
    review.do_difference()
    wait(500)
    window.grab().save(str(out / "difference.png"))
    review.do_difference()
    window.tabs.setCurrentWidget(window.groups)
    wait(1500)
    window.grab().save(str(out / "groups.png"))
    # Visual search with an outside picture: a mirrored crop of a catalogue picture.
    source = window.session.abs_path(review.model.pairs[0].path_a) if review.model.pairs else None
    if source:
        with Image.open(source) as im:
            w, h = im.size
            query = ImageOps.mirror(im.convert("RGB").crop((w // 10, h // 10, w - w // 10, h - h // 12)))
            path = Path(tempfile.mkdtemp()) / "query.jpg"
            query.save(path, quality=70)
        window.tabs.setCurrentWidget(window.search)
        window.search.search_file(str(path))
        for _ in range(100):
            wait(100)
            if window.search.model.items and all(i.get("icon") for i in window.search.model.items):
                break
        window.grab().save(str(out / "search.png"))
    window.tabs.setCurrentWidget(window.errors)
    wait(300)
    window.grab().save(str(out / "errors.png"))
    window.close()
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
