"""The real window, driven by qtbot under QT_QPA_PLATFORM=offscreen, on real images and a real catalogue."""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["FASHIONSIM_NO_DIALOGS"] = "1"

from PySide6.QtCore import QMimeData, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402

from fashionsim_desktop.core.tiers import Tier  # noqa: E402
from fashionsim_desktop.store.catalog import Catalog  # noqa: E402
from fashionsim_desktop.ui.main_window import MainWindow  # noqa: E402
from fashionsim_desktop.ui.models import ErrorsModel, PairFilterProxy, PairTableModel, ThumbnailListModel  # noqa
from fashionsim_desktop.ui.settings import AppSettings  # noqa: E402

from .conftest import REPO  # noqa: E402

INDEX_TIMEOUT_MS = 180_000


@pytest.fixture
def window(qtbot, isolated_home, model_path):
    win = MainWindow(AppSettings(isolated_home / "settings.ini"))
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
    assert win.pool.pool.activeThreadCount() == 0, "a background worker outlived the window"
    assert not win.review.compare.flicker_timer.isActive()


def open_and_index(qtbot, win, folder):
    assert win.open_folder(folder)
    qtbot.waitUntil(lambda: win.index_worker is None, timeout=INDEX_TIMEOUT_MS)
    qtbot.waitUntil(lambda: win.review.model.rowCount() > 0, timeout=10_000)


def decisions_on_disk(win):
    with Catalog(win.session.catalog_dir) as catalog:  # a separate connection: what a crash would leave
        return {k: v["decision"] for k, v in catalog.decisions().items()}


def test_index_review_undo_keeper_export(qtbot, window, small_catalog_folder, tmp_path):
    open_and_index(qtbot, window, small_catalog_folder)
    review = window.review
    assert window.progress.bars["pairs"].value() == window.progress.bars["pairs"].maximum()
    pairs = review.model.pairs
    assert pairs[0].kind == "exact" and len(pairs) == 3  # the three planted duplicates
    assert review.current_pair() is pairs[0]
    qtbot.waitUntil(lambda: review.compare.images[0] is not None and review.compare.images[1] is not None)

    first, second = pairs[0], pairs[1]
    review.setFocus()
    qtbot.keyClick(review, Qt.Key.Key_M)  # merge the exact pair
    assert decisions_on_disk(window)[first.key] == "merge"
    assert review.current_pair() is second  # the next pair appears at once
    qtbot.keyClick(review, Qt.Key.Key_K)  # keep the next
    assert decisions_on_disk(window)[second.key] == "keep"
    qtbot.keyClick(review, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo the keep
    assert second.key not in decisions_on_disk(window)
    assert review.current_pair() is second
    assert "1 of" in review.done_label.text()

    # Keyboard view controls work on the shown pair.
    zoom = review.compare.zoom
    qtbot.keyClick(review, Qt.Key.Key_Plus)
    assert review.compare.zoom > zoom
    qtbot.keyClick(review, Qt.Key.Key_D)
    assert review.compare.display == "difference"
    qtbot.keyClick(review, Qt.Key.Key_D)
    qtbot.keyClick(review, Qt.Key.Key_X)
    assert review.swapped

    # Filters: only undecided pairs.
    review.state_filter.setCurrentIndex(1)
    assert all(review.proxy.data(review.proxy.index(r, 0), Qt.ItemDataRole.UserRole + 1).decision is None
               for r in range(review.proxy.rowCount()))
    review.state_filter.setCurrentIndex(0)

    # Merge the second pair too, then choose the other picture as keeper in the groups view.
    review.select_proxy_row(1)
    qtbot.keyClick(review, Qt.Key.Key_M)
    window.tabs.setCurrentWidget(window.groups)
    groups = window.groups
    qtbot.waitUntil(lambda: "2 groups" in groups.summary_label.text())  # worked out in a worker
    target_group = next(i for i, g in enumerate(groups.groups) if any(p.key == second.key for p in g))
    groups.group_list.setCurrentIndex(groups.group_model.index(target_group, 0))
    non_keeper = next(i for i, item in enumerate(groups.member_model.items) if "★" not in item["caption"])
    groups.members.setCurrentIndex(groups.member_model.index(non_keeper, 0))
    chosen = groups.member_model.items[non_keeper]
    groups.make_keeper()
    assert "★" in groups.member_model.items[non_keeper]["caption"]

    out = tmp_path / "merges.csv"
    assert window.export_to(out, "csv") == 2
    rows = list(csv.DictReader(out.open()))
    assert {r["keeper_path"] for r in rows} >= {chosen["path"]}
    out_json = tmp_path / "merges.json"
    window.export_to(out_json, "json")
    assert json.loads(out_json.read_text())["count"] == 2


def test_merge_whole_group_and_split_off(qtbot, window, small_catalog_folder, tmp_path):
    # Three copies of one picture: a group of three pairs worked through in one action.
    shutil.copyfile(small_catalog_folder / "copy-of-first.jpg", small_catalog_folder / "third-copy.jpg")
    open_and_index(qtbot, window, small_catalog_folder)
    window.tabs.setCurrentWidget(window.groups)
    groups = window.groups
    groups.group_list.setCurrentIndex(groups.group_model.index(0, 0))
    biggest = groups.current_group()
    assert len({p.path_a for p in biggest} | {p.path_b for p in biggest}) >= 3
    groups.merge_group()
    assert all(decisions_on_disk(window)[p.key] == "merge" for p in biggest)
    window.review.do_undo()  # one undo step reverses the whole group
    assert not any(p.key in decisions_on_disk(window) for p in biggest)


def test_drop_file_url_and_image_data_search(qtbot, window, small_catalog_folder, tmp_path):
    open_and_index(qtbot, window, small_catalog_folder)
    target = sorted((small_catalog_folder / "a").glob("0*.jpg"))[4]
    query = tmp_path / "outside.jpg"
    QImage(str(target)).scaledToWidth(240).save(str(query), "JPEG", 70)

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(query))])
    with qtbot.waitSignal(window.search.resultsShown, timeout=60_000):
        window.handle_mime(mime)
    assert window.tabs.currentWidget() is window.search
    assert window.search.model.items[0]["path"] == f"a/{target.name}"

    mime = QMimeData()
    mime.setImageData(QImage(str(target)).flipped(Qt.Orientation.Horizontal))  # raw pixels, as a browser drags them
    with qtbot.waitSignal(window.search.resultsShown, timeout=60_000):
        window.handle_mime(mime)
    assert window.search.model.items[0]["path"] == f"a/{target.name}"
    qtbot.waitUntil(lambda: window.search.model.items[0].get("icon") is not None, timeout=10_000)

    # A newer query replaces an older one: only the last answer is shown.
    window.search.search_file(str(query))
    window.search.search_similar(window.search.model.items[1]["sha256"], "second result")
    with qtbot.waitSignal(window.search.resultsShown, timeout=60_000):
        pass
    assert "second result" in window.search.query_label.text()


def test_find_similar_from_the_review(qtbot, window, small_catalog_folder):
    open_and_index(qtbot, window, small_catalog_folder)
    review = window.review
    review.setFocus()
    review.select_proxy_row(1)  # a near pair: the other picture must come back near the top
    pair = review.current_pair()
    assert pair.kind == "near"
    with qtbot.waitSignal(window.search.resultsShown, timeout=60_000):
        qtbot.keyClick(review, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.search
    results = [item["sha256"] for item in window.search.model.items]
    assert pair.sha_a not in results  # the picture itself is not its own result
    assert pair.sha_b in results[:3]


def test_first_start_offers_the_sample_catalogue(qtbot, window):
    from PySide6.QtWidgets import QPushButton

    assert window.stack.currentWidget() is window.welcome
    qtbot.mouseClick(window.welcome.findChild(QPushButton, "open_sample"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.index_worker is None, timeout=INDEX_TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.review.model.rowCount() > 0, timeout=10_000)
    names = {os.path.basename(p) for pair in window.review.model.pairs for p in (pair.path_a, pair.path_b)}
    assert {"copy-of-tshirt.jpg", "dress-reupload.jpg", "trousers-cropped.jpg"} <= names  # planted copies
    assert window.errors.model.rows == [("incoming/broken-upload.jpg",
                                         "truncated image: the file ends before the picture does")]
    assert window.errors.summary.text().startswith("1 file was unreadable and skipped")


def test_reopening_a_folder_mid_indexing_is_safe(qtbot, window, small_catalog_folder):
    window.open_folder(small_catalog_folder)
    qtbot.waitUntil(lambda: window.progress.bars["scan"].value() > 0, timeout=30_000)
    assert window.open_folder(small_catalog_folder)  # the first run is cancelled, a new one starts
    qtbot.waitUntil(lambda: window.index_worker is None, timeout=INDEX_TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.review.model.rowCount() == 3, timeout=10_000)


def test_drop_folder_opens_it_and_bad_drops_explain(qtbot, window, small_catalog_folder, tmp_path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(small_catalog_folder))])
    window.handle_mime(mime)
    assert window.session is not None and window.session.folder == small_catalog_folder.resolve()
    qtbot.waitUntil(lambda: window.index_worker is None, timeout=INDEX_TIMEOUT_MS)
    mime = QMimeData()
    mime.setUrls([QUrl("https://shop.example/picture.jpg")])
    window.handle_mime(mime)
    assert "offline" in window.statusBar().currentMessage()


def test_cancel_indexing_then_rescan_resumes(qtbot, window, tmp_path):
    from .conftest import some_hm_images

    folder = tmp_path / "big"
    folder.mkdir()
    for p in some_hm_images(160):
        shutil.copyfile(p, folder / p.name)
    window.open_folder(folder)
    qtbot.waitUntil(lambda: window.progress.bars["features"].value() > 0, timeout=60_000)
    window.cancel_indexing()
    qtbot.waitUntil(lambda: window.index_worker is None, timeout=60_000)
    assert "Cancelled" in window.statusBar().currentMessage()
    with Catalog(window.session.catalog_dir) as catalog:
        partial = catalog.db.execute("SELECT count(*) FROM images").fetchone()[0]
    assert 0 < partial < 160
    window.start_indexing()
    qtbot.waitUntil(lambda: window.index_worker is None, timeout=INDEX_TIMEOUT_MS)
    with Catalog(window.session.catalog_dir) as catalog:
        assert catalog.db.execute("SELECT count(*) FROM images").fetchone()[0] == 160


def test_settings_are_saved_and_the_threshold_applies(qtbot, window, small_catalog_folder, isolated_home):
    from fashionsim_desktop.ui.settings import SettingsDialog

    open_and_index(qtbot, window, small_catalog_folder)
    before = window.review.model.rowCount()
    lowest = min(p.score for p in window.review.model.pairs if p.kind == "near")
    dialog = SettingsDialog(window.settings, window)
    dialog.threshold.setValue(round(lowest + 0.01, 2))  # just above the weakest proposed pair
    dialog.workers.setValue(1)
    dialog.accept()
    window.apply_settings()
    qtbot.waitUntil(lambda: window.review.model.rowCount() == before - 1, timeout=10_000)
    reread = AppSettings(isolated_home / "settings.ini")  # what the next start will read
    assert reread.threshold() == round(lowest + 0.01, 2) and reread.workers() == 1


def test_errors_panel_lists_unreadable_files(qtbot, window, small_catalog_folder):
    (small_catalog_folder / "zero.jpg").write_bytes(b"")
    (small_catalog_folder / "text.png").write_text("no picture here")
    open_and_index(qtbot, window, small_catalog_folder)
    rows = dict(window.errors.model.rows)
    assert rows == {"text.png": "not an image, or an image format FashionSim cannot read",
                    "zero.jpg": "empty file (0 bytes)"}
    assert window.tabs.tabText(window.tabs.indexOf(window.errors)) == "Unreadable files (2)"
    assert window.errors.summary.text().startswith("2 files were unreadable and skipped")


def test_item_models_pass_qt_model_tester(qtmodeltester, small_catalog_folder, tmp_path, model_path):
    from fashionsim_desktop.core.indexer import Indexer
    from fashionsim_desktop.core.review import list_pairs

    with Catalog(tmp_path / "cat", root=small_catalog_folder) as catalog:
        Indexer(small_catalog_folder, catalog, model_path=model_path).run()
        pairs = list_pairs(catalog)
        errors = [("bad.jpg", "corrupt image data")]
    model = PairTableModel()
    model.set_pairs(pairs)
    qtmodeltester.check(model)
    proxy = PairFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_filters(tiers={Tier.DUPLICATE}, min_score=0.6)
    qtmodeltester.check(proxy)
    assert 0 < proxy.rowCount() < model.rowCount()
    errors_model = ErrorsModel()
    errors_model.set_rows(errors)
    qtmodeltester.check(errors_model)
    thumbs = ThumbnailListModel()
    thumbs.set_items([{"path": "a.jpg", "abs_path": "/x/a.jpg", "sha256": "0", "caption": "a"}])
    qtmodeltester.check(thumbs)


def test_pair_model_is_fast_with_100k_pairs(qtmodeltester):
    from fashionsim_desktop.core.review import Pair

    pairs = [Pair(f"f/{i}.jpg", f"g/{i}.jpg", f"{i:064x}", f"{i + 1:064x}", 1 - i / 200000, "near")
             for i in range(100_000)]
    model = PairTableModel()
    model.set_pairs(pairs)
    proxy = PairFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_filters(min_score=0.9, folder="f")
    assert proxy.rowCount() == 20001
    proxy.set_filters(state="undecided", min_score=0.0)
    assert proxy.rowCount() == 100_000


def test_a_killed_app_loses_no_decision(small_catalog_folder, tmp_path, isolated_home, model_path):
    """Decide in the real window, then SIGKILL the process: every decision is on disk."""
    script = tmp_path / "decide_and_die.py"
    script.write_text(textwrap.dedent(f"""
        import os, signal
        from pathlib import Path

        def main():
            # Worker processes are spawned: they import this file, so all work sits behind the main guard.
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
            os.environ["FASHIONSIM_NO_DIALOGS"] = "1"
            from PySide6.QtCore import Qt
            from PySide6.QtTest import QTest
            from PySide6.QtWidgets import QApplication
            app = QApplication([])
            from fashionsim_desktop.ui.main_window import MainWindow
            from fashionsim_desktop.ui.settings import AppSettings
            win = MainWindow(AppSettings(Path({str(isolated_home)!r}) / "settings.ini"))
            win.show()
            win.open_folder(Path({str(small_catalog_folder)!r}))
            while win.index_worker is not None or win.review.model.rowCount() == 0:
                QTest.qWait(50)
            win.review.setFocus()
            for key in (Qt.Key.Key_M, Qt.Key.Key_K, Qt.Key.Key_M):
                QTest.keyClick(win.review, key)
            print("decided", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

        if __name__ == "__main__":
            main()
    """))
    env = dict(os.environ, FASHIONSIM_HOME=str(isolated_home), PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=240)
    assert result.returncode == -signal.SIGKILL and "decided" in result.stdout, result.stderr
    from fashionsim_desktop.store.locations import catalog_dir_for

    with Catalog(catalog_dir_for(small_catalog_folder)) as catalog:
        assert sorted(d["decision"] for d in catalog.decisions().values()) == ["keep", "merge", "merge"]


def test_keeper_is_the_chosen_byte_copy(qtbot, window, small_catalog_folder):
    """Two byte copies and a near copy: "Make keeper" on the second byte copy keeps that very file."""
    from PIL import Image

    from fashionsim_desktop.core.export import merge_rows

    first = next(p for p in sorted((small_catalog_folder / "a").glob("*.jpg"))
                 if (p.read_bytes() == (small_catalog_folder / "copy-of-first.jpg").read_bytes()))
    with Image.open(first) as im:
        w, h = im.size
        im.crop((20, 30, w - 15, h - 40)).save(small_catalog_folder / "first-cropped.jpg", quality=80)
    os.utime(first, ns=(1_600_000_000 * 10**9,) * 2)  # the older copy: the one the rule would suggest
    os.utime(small_catalog_folder / "copy-of-first.jpg", ns=(1_700_000_000 * 10**9,) * 2)
    open_and_index(qtbot, window, small_catalog_folder)
    window.tabs.setCurrentWidget(window.groups)
    groups = window.groups
    row = next(i for i, g in enumerate(groups.groups) if any(p.kind == "exact" for p in g))
    groups.group_list.setCurrentIndex(groups.group_model.index(row, 0))
    names = [item["path"] for item in groups.member_model.items]
    assert sorted(names) == sorted([f"a/{first.name}", "copy-of-first.jpg", "first-cropped.jpg"])
    chosen = names.index("copy-of-first.jpg")
    groups.members.setCurrentIndex(groups.member_model.index(chosen, 0))
    groups.make_keeper()
    starred = [item["path"] for item in groups.member_model.items if "★" in item["caption"]]
    assert starred == ["copy-of-first.jpg"]  # that file only, not its byte copy
    groups.merge_group()
    rows = merge_rows(window.session.catalog)
    assert {r["keeper_path"] for r in rows} == {"copy-of-first.jpg"}
    assert sorted(r["duplicate_path"] for r in rows) == sorted([f"a/{first.name}", "first-cropped.jpg"])


def test_names_that_display_alike_are_two_files(qtbot, window, tmp_path):
    """b'caf\\xe9.jpg' (not UTF-8) and 'caf\\\\xe9.jpg' both display as caf\\xe9.jpg: each shows its own picture."""
    from PIL import Image

    from .conftest import some_hm_images

    folder = tmp_path / "alike"
    folder.mkdir()
    originals = some_hm_images(6, skip=300)
    for p in originals[1:]:
        shutil.copyfile(p, folder / p.name)
    latin1, backslash = b"caf\xe9.jpg", b"caf\\xe9.jpg"
    root = os.fsencode(folder)
    shutil.copyfile(originals[0], os.path.join(root, latin1))
    with Image.open(originals[0]) as im:  # a different JPEG of another size: a near copy
        w, h = im.size
        im.crop((20, 30, w - 15, h - 40)).save(os.path.join(root, backslash), "JPEG", quality=80)
    open_and_index(qtbot, window, folder)
    assert window.errors.model.rows == []
    files = window.session.files
    assert {latin1, backslash} <= set(files) and files[latin1]["path"] == files[backslash]["path"]
    review = window.review
    pair = next(p for p in review.model.pairs if {p.raw_a, p.raw_b} == {latin1, backslash})
    review.select_proxy_row(review.model.pairs.index(pair))  # no filter: proxy rows are model rows
    assert review.current_pair() is pair
    qtbot.waitUntil(lambda: None not in review.compare.images, timeout=10_000)

    def size_on_disk(raw):
        with Image.open(os.path.join(root, raw)) as im:
            return im.size

    shown = [(image.width(), image.height()) for image in review.compare.images]
    assert shown == [size_on_disk(pair.raw_a), size_on_disk(pair.raw_b)]
    assert shown[0] != shown[1]

    # Visual search: the hit is the file with that picture, not the other one with the same display name.
    with qtbot.waitSignal(window.search.resultsShown, timeout=60_000):
        window.find_similar(files[latin1]["sha256"], "café")
    hit = next(i for i in window.search.model.items if i["sha256"] == files[backslash]["sha256"])
    assert hit["abs_path"] == os.fsdecode(os.path.join(root, backslash))
    qtbot.waitUntil(lambda: hit.get("icon") is not None, timeout=10_000)
