"""A window a curator keeps open all day: readable names at 1280×800 and at 150 % / 200 %, palettes that keep
contrast, pictures that fit again, thumbnails that follow the setting, and honest progress.

Real widgets under QT_QPA_PLATFORM=offscreen, real packshots, a real catalogue indexed once for the module.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["FASHIONSIM_NO_DIALOGS"] = "1"

from PySide6.QtCore import QEvent, Qt  # noqa: E402
from PySide6.QtGui import QColor, QFontMetrics, QHelpEvent, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem, QToolTip  # noqa: E402

from fashionsim_desktop.core.progress import PhaseStatus  # noqa: E402
from fashionsim_desktop.ui.compare_view import CompareView  # noqa: E402
from fashionsim_desktop.ui.evidence_view import evidence_rows  # noqa: E402
from fashionsim_desktop.ui.models import PAIR_ROLE  # noqa: E402
from fashionsim_desktop.ui.palette import (AA, contrast_ratio, dark_palette, decision_colour, light_palette,  # noqa
                                           relative_luminance, secondary_text)
from fashionsim_desktop.ui.pair_queue import PICTURE_COLUMNS, elide_folder, elide_name  # noqa: E402
from fashionsim_desktop.ui.progress_panel import ProgressPanel  # noqa: E402

from .conftest import REPO, some_hm_images  # noqa: E402

ARTICLE = "0834123001.jpg"  # the typical name the issue asks to read whole
DEEP = Path("shoots") / "2024-spring" / "studio-b" / "083"  # a long folder: it is what gets elided
INDEX_TIMEOUT_MS = 180_000


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, model_path):
    """A catalogue folder of article-number packshots in deep folders, with byte copies and a mirrored copy under
    another folder, indexed once by the command line: (folder, catalogue directory)."""
    from PIL import Image, ImageOps

    root = tmp_path_factory.mktemp("ergonomics")
    folder = root / "catalogue"
    (folder / DEEP).mkdir(parents=True)
    (folder / "incoming").mkdir()
    pictures = some_hm_images(10, skip=400)
    for p in pictures:
        shutil.copyfile(p, folder / DEEP / p.name)
    shutil.copyfile(pictures[0], folder / DEEP / ARTICLE)  # a byte copy under the typical name
    shutil.copyfile(pictures[1], folder / "incoming" / pictures[1].name)
    with Image.open(pictures[2]) as im:
        ImageOps.mirror(im).save(folder / "incoming" / pictures[2].name, quality=90)
    catalog = root / "catalog"
    subprocess.run([sys.executable, "-m", "fashionsim_desktop", "index", str(folder), "--catalog", str(catalog)],
                   check=True, capture_output=True, cwd=REPO, timeout=INDEX_TIMEOUT_MS / 1000)
    return folder, catalog


@pytest.fixture
def window(qtbot, indexed, isolated_home, tmp_path):
    """The window as the app builds it (create_window: it follows the look settings), at 1280×800."""
    from fashionsim_desktop.ui.app import create_window

    folder, catalog = indexed
    shutil.copytree(catalog, tmp_path / "catalog")  # decisions made by a test stay in that test
    win = create_window([])  # closed here, not by qtbot: the look is put back first, while the window is open
    win.resize(1280, 800)
    win.show()
    try:
        assert win.open_folder(folder, tmp_path / "catalog")
        qtbot.waitUntil(lambda: win.index_worker is None, timeout=INDEX_TIMEOUT_MS)
        qtbot.waitUntil(lambda: win.review.model.rowCount() >= 3, timeout=10_000)
        yield win
    finally:
        for key in ("view/theme", "view/font_size", "view/thumbnail_size"):
            win.settings.remove(key)  # the next test starts from the platform's look
        win.settings.changed.emit()
        win.close()
        win.deleteLater()
    assert win.pool.pool.activeThreadCount() == 0, "a background worker outlived the window"


def cell_lines(review, row: int, column: int) -> tuple[str, str]:
    """What the queue paints in a picture cell: (file name, folder), for the cell's real size and font."""
    table = review.table
    index = review.proxy.index(row, column)
    option = QStyleOptionViewItem()
    option.initFrom(table.viewport())
    option.font = table.font()
    option.rect = table.visualRect(index)
    return review.queue_look.delegate.lines(option, index)


def article_row(review) -> tuple[int, int]:
    """(row, column) of the cell showing the typical article-number name."""
    for row in range(review.proxy.rowCount()):
        for column in PICTURE_COLUMNS:
            if review.proxy.index(row, column).data() == ARTICLE:
                return row, column
    raise AssertionError(f"no pair shows {ARTICLE}")


# -- names at 1280×800 and at 150 % / 200 % ----------------------------------------------------------------------
def test_queue_shows_article_number_names_whole_at_1280x800(qtbot, window):
    review = window.review
    qtbot.waitUntil(lambda: review.table.isVisible() and review.table.width() > 100)
    assert window.width() == 1280, "the window must fit a 1280-pixel screen"
    row, column = article_row(review)
    name, folder = cell_lines(review, row, column)
    assert name == ARTICLE
    assert folder.endswith("083") and folder != str(DEEP)  # the folder is what gets shortened
    # Every column is on screen: none is pushed out to the right of the queue.
    header = review.table.horizontalHeader()
    assert header.sectionViewportPosition(header.count() - 1) + header.sectionSize(header.count() - 1) \
        <= review.table.viewport().width() + 1
    # The full path on disk on hover.
    centre = review.table.visualRect(review.proxy.index(row, column)).center()
    viewport = review.table.viewport()
    QApplication.sendEvent(viewport, QHelpEvent(QEvent.Type.ToolTip, centre, viewport.mapToGlobal(centre)))
    assert QToolTip.text() == str(window.session.folder / DEEP / ARTICLE)
    # Thumbnails arrive from the background loader and are painted.
    qtbot.waitUntil(lambda: len([p for p in review.queue_look.thumbnails._pixmaps.values() if p]) >= 2,
                    timeout=20_000)


SCALED_WINDOW = textwrap.dedent("""
    import json, os, shutil, sys, time
    from pathlib import Path
    from PySide6.QtWidgets import QApplication, QStyleOptionViewItem
    app = QApplication([])
    from fashionsim_desktop.ui.app import create_window
    from fashionsim_desktop.ui.pair_queue import PICTURE_COLUMNS
    folder, catalog = Path(sys.argv[1]), Path(sys.argv[2])
    win = create_window([])
    win.resize(1280, 800)
    win.show()
    win.open_folder(folder, catalog)
    end = time.time() + 120
    while (win.index_worker is not None or win.review.model.rowCount() < 3) and time.time() < end:
        app.processEvents(); time.sleep(0.01)
    for _ in range(50):
        app.processEvents(); time.sleep(0.01)
    review, shown = win.review, []
    for row in range(review.proxy.rowCount()):
        for column in PICTURE_COLUMNS:
            index = review.proxy.index(row, column)
            option = QStyleOptionViewItem()
            option.initFrom(review.table.viewport())
            option.font, option.rect = review.table.font(), review.table.visualRect(index)
            shown.append([index.data(), *review.queue_look.delegate.lines(option, index)])
    print(json.dumps({"ratio": review.table.devicePixelRatioF(), "width": win.width(), "shown": shown}))
    win.close()
""")


@pytest.mark.parametrize("scale", ["1.5", "2"])
def test_queue_names_stay_whole_at_150_and_200_percent(indexed, tmp_path, isolated_home, scale):
    """A real device pixel ratio (QT_SCALE_FACTOR, in a process of its own), a window of 1280×800 logical pixels:
    the whole article-number name, in every picture cell that shows one."""
    folder, catalog = indexed
    shutil.copytree(catalog, tmp_path / "catalog")
    script = tmp_path / "scaled.py"
    script.write_text(SCALED_WINDOW)
    env = dict(os.environ, QT_SCALE_FACTOR=scale, QT_QPA_PLATFORM="offscreen", FASHIONSIM_NO_DIALOGS="1")
    out = subprocess.run([sys.executable, str(script), str(folder), str(tmp_path / "catalog")], env=env,
                         capture_output=True, text=True, timeout=240, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["ratio"] == float(scale) and report["width"] == 1280
    articles = [(name, line) for name, line, _ in report["shown"] if name[:10].isdigit()]
    assert articles and all(line == name for name, line in articles), articles


def test_a_larger_font_applies_live_and_names_stay_whole(qtbot, window):
    """Settings ▸ Font size (what a 144-DPI font does to the layout): the queue makes room for the names."""
    from fashionsim_desktop.ui.settings import SettingsDialog

    review = window.review
    dialog = SettingsDialog(window.settings, window)
    dialog.font_size.setValue(14)
    dialog.accept()
    assert QApplication.font().pointSize() == 14
    qtbot.waitUntil(lambda: review.table.font().pointSize() == 14)
    row, column = article_row(review)
    qtbot.waitUntil(lambda: cell_lines(review, row, column)[0] == ARTICLE)
    dialog = SettingsDialog(window.settings, window)
    dialog.font_size.setValue(dialog.font_size.minimum())  # "System size"
    dialog.accept()
    assert window.settings.font_size() == 0 and QApplication.font().pointSize() != 14


def test_names_elide_the_folder_never_the_article_number(qapp):
    metrics = QFontMetrics(qapp.font())
    width = metrics.horizontalAdvance(ARTICLE)
    assert elide_name(ARTICLE, metrics, width) == ARTICLE
    edited = elide_name("0525563041_mirror_and_crop.jpg", metrics, width + 10)
    assert edited.startswith("0525563041") and edited.endswith("…")  # the number kept, the suffix shortened
    folder = elide_folder("shoots/2024-spring/studio-b/083", metrics, metrics.horizontalAdvance("…/studio-b/083"))
    assert folder == "…/studio-b/083"


# -- palettes ----------------------------------------------------------------------------------------------------
def test_contrast_is_computed_as_wcag_says():
    assert relative_luminance(QColor("white")) == pytest.approx(1.0)
    assert contrast_ratio(QColor("black"), QColor("white")) == pytest.approx(21.0)
    assert contrast_ratio(QColor("#777777"), QColor("white")) == pytest.approx(4.48, abs=0.01)  # just fails AA


@pytest.mark.parametrize("palette_of", [light_palette, dark_palette], ids=["light", "dark"])
def test_decided_rows_and_folder_captions_keep_aa_contrast(palette_of):
    palette = palette_of()
    text = palette.color(QPalette.ColorRole.Text)
    for decision in ("merge", "keep", "skip", "variant"):
        background = decision_colour(palette, decision)
        assert background != palette.color(QPalette.ColorRole.Base), f"{decision} rows must stand out"
        assert contrast_ratio(background, text) >= AA, decision
    caption = secondary_text(palette)
    for role in (QPalette.ColorRole.Window, QPalette.ColorRole.Base):
        assert contrast_ratio(caption, palette.color(role)) >= AA


def test_dark_palette_is_applied_live_and_decided_rows_are_painted_readable(qtbot, window):
    """Settings ▸ Palette: Dark, applied when the dialog closes; the merged row is painted in a colour its text
    reads on (sampled from the screen grab, not taken from the model)."""
    from fashionsim_desktop.ui.settings import SettingsDialog

    review = window.review
    review.select_proxy_row(0)
    merged = review.current_pair().key
    review.do_merge()
    dialog = SettingsDialog(window.settings, window)
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.accept()
    palette = QApplication.palette()
    assert relative_luminance(palette.color(QPalette.ColorRole.Base)) < 0.05  # dark now, no restart
    text, expected = palette.color(QPalette.ColorRole.Text), decision_colour(palette, "merge")
    decision_column = review.model.COLUMNS.index("Decision")

    def painted():
        """The background painted at a corner of the merged row's Decision cell (away from its text)."""
        row = next(r for r in range(review.proxy.rowCount()) if review.proxy.index(r, 0).data(PAIR_ROLE).key == merged)
        rect = review.table.visualRect(review.proxy.index(row, decision_column))
        return review.table.viewport().grab().toImage().pixelColor(rect.right() - 3, rect.top() + 3)

    qtbot.waitUntil(lambda: abs(painted().red() - expected.red()) <= 2)  # also after the window's reloads
    assert contrast_ratio(painted(), text) >= AA


def test_picture_captions_follow_a_new_palette(qtbot, window):
    """The folder under each picture's name is written in a colour worked out from the palette: switching to Dark
    while a pair is shown writes it again in the dark palette's colour (the light one is unreadable there)."""
    from fashionsim_desktop.ui.settings import SettingsDialog

    review, compare = window.review, window.review.compare
    review.select_proxy_row(0)
    qtbot.waitUntil(lambda: compare.images[0] is not None and compare.images[1] is not None, timeout=20_000)
    qtbot.waitUntil(lambda: any("keeper" in caption.text() for caption in compare.captions), timeout=20_000)
    qtbot.wait(300)  # settled: nothing left to write the captions again by itself
    for theme in ("light", "dark"):
        dialog = SettingsDialog(window.settings, window)
        dialog.theme.setCurrentIndex(dialog.theme.findData(theme))
        dialog.accept()
        window_colour = QApplication.palette().color(QPalette.ColorRole.Window)
        qtbot.waitUntil(lambda: compare.palette().color(QPalette.ColorRole.Window) == window_colour)
        folder_colour = secondary_text(compare.palette()).name()  # as the captions work it out
        qtbot.waitUntil(lambda: all(folder_colour in caption.text() for caption in compare.captions))
        assert contrast_ratio(QColor(folder_colour), compare.palette().color(QPalette.ColorRole.Window)) >= AA


# -- the compare view --------------------------------------------------------------------------------------------
def displayed_size(pane) -> tuple[float, float]:
    w, h = pane.image_size
    return w * pane.scale_factor(), h * pane.scale_factor()


def fits(pane) -> bool:
    """The picture is inside its pane and touches two of its sides (as fitting leaves it)."""
    w, h = displayed_size(pane)
    view = pane.viewport().size()
    return w <= view.width() and h <= view.height() and (view.width() - w <= 6 or view.height() - h <= 6)


def test_picture_fits_again_after_resize_and_splitter_drags(qtbot, window):
    """Each change of the pane's size (the window, then each splitter) leaves the picture fitted to the new size."""
    review, compare = window.review, window.review.compare
    qtbot.waitUntil(lambda: compare.images[0] is not None, timeout=20_000)
    pane = compare.panes[0]
    qtbot.waitUntil(lambda: fits(pane))

    def refits_after(change) -> None:
        before = displayed_size(pane)
        change()
        qtbot.waitUntil(lambda: fits(pane) and displayed_size(pane) != before)

    refits_after(lambda: window.resize(1100, 700))  # the window
    refits_after(lambda: compare.splitter.setSizes([180, 600]))  # the one above the metadata: a low pane
    refits_after(lambda: compare.splitter.setSizes([600, 150]))  # ... and a tall one again
    refits_after(lambda: compare.columns.setSizes([110, 890]))  # the one between the two pictures: a narrow pane
    review.splitter.setSizes([700, 400])  # the one between the queue and the pictures
    qtbot.waitUntil(lambda: fits(compare.panes[1]))


def test_the_mode_is_shown(qtbot, window):
    review, compare = window.review, window.review.compare
    qtbot.waitUntil(lambda: compare.images[0] is not None and compare.images[1] is not None, timeout=20_000)
    assert compare.mode_label.isVisible() and "Side by side" in compare.mode_label.text()
    review.do_flicker()
    assert "Flicker" in compare.mode_label.text()
    review.do_difference()
    assert "Difference" in compare.mode_label.text()
    review.do_scale()
    assert "same scale" in compare.mode_label.text()


def test_evidence_is_a_sentence_with_the_numbers_in_a_details_fold(qtbot):
    view = CompareView()
    qtbot.addWidget(view)
    view.show()
    evidence = {"inliers": 471, "ncc": 0.9812, "agree": 0.964, "chroma": 2.4, "lightness": 1.1, "mirrored": True,
                "cosine": 0.9731, "phash_distance": 30, "some_new_number": 7}
    view.set_evidence("Duplicate: mirrored copy, re-encoded", evidence)
    panel = view.evidence
    assert panel.sentence.text() == "Duplicate: mirrored copy, re-encoded" and panel.sentence.isVisible()
    assert not panel.details.isVisible()  # folded until asked for
    qtbot.mouseClick(panel.toggle, Qt.MouseButton.LeftButton)
    assert panel.details.isVisible()
    shown = dict(panel.rows)
    assert shown["Structure agreement (correlation once aligned)"] == "0.981"
    assert shown["Pixels that agree after a tone fit"] == "96.4 %"
    assert shown["Colour difference (median Lab a/b distance)"] == "2.4"
    assert shown["Lightness difference (median Lab L)"] == "1.1"
    assert shown["Matching details (ORB keypoints that line up)"] == "471"
    assert shown["Some new number"] == "7"  # nothing measured is hidden
    assert len(evidence_rows(evidence)) == len(evidence)


# -- thumbnails --------------------------------------------------------------------------------------------------
def test_thumbnail_size_setting_applies_when_settings_close(qtbot, window):
    from fashionsim_desktop.ui.settings import SettingsDialog

    window.tabs.setCurrentWidget(window.groups)
    groups = window.groups
    qtbot.waitUntil(lambda: groups.group_model.rowCount() > 0)
    grids = (window.browser.grid, window.search.grid, groups.members)
    assert {grid.iconSize().width() for grid in grids} == {160}
    row_height = window.review.table.verticalHeader().defaultSectionSize()
    strip_height = groups.group_list.visualRect(groups.group_model.index(0, 0)).height()
    dialog = SettingsDialog(window.settings, window)
    dialog.thumbs.setValue(256)
    dialog.accept()
    assert {grid.iconSize().width() for grid in grids} == {256}
    assert window.review.table.verticalHeader().defaultSectionSize() > row_height
    qtbot.waitUntil(lambda: groups.group_list.visualRect(groups.group_model.index(0, 0)).height() > strip_height)
    # The members are loaded again, at the new size (twice it on a 200 % screen).
    qtbot.waitUntil(lambda: all(item.get("icon") for item in groups.member_model.items), timeout=20_000)
    icon = groups.member_model.items[0]["icon"]
    assert max(icon.availableSizes()[0].toTuple()) >= 256


def test_search_results_and_catalogue_follow_the_thumbnail_size_live(qtbot, window):
    """A larger Thumbnail size gives larger, sharp pictures in Visual search and the Catalogue too: the results on
    screen and the catalogue's cells are loaded again at the new size, with no new search."""
    from fashionsim_desktop.ui.settings import SettingsDialog

    def shown(grid, item) -> int:
        """The longer side, in pixels, of the picture the grid paints for `item` (an icon never grows its pixmap)."""
        icon = item.get("icon")
        return max(icon.actualSize(grid.iconSize()).toTuple()) if icon else 0

    search, browser = window.search, window.browser
    window.tabs.setCurrentWidget(search)
    query = next(f for f in window.session.files.values() if f["path"].endswith(ARTICLE))
    search.search_similar(query["sha256"], ARTICLE)
    qtbot.waitUntil(lambda: bool(search.model.items) and all(i.get("icon") for i in search.model.items),
                    timeout=30_000)
    assert max(shown(search.grid, i) for i in search.model.items) <= 160 * search.devicePixelRatioF()
    window.tabs.setCurrentWidget(browser)
    qtbot.waitUntil(lambda: bool(browser.model.items) and browser.model.items[0].get("icon") is not None,
                    timeout=30_000)

    dialog = SettingsDialog(window.settings, window)
    dialog.thumbs.setValue(320)
    dialog.accept()
    assert search.grid.iconSize().width() == browser.grid.iconSize().width() == 320
    # The catalogue, on screen: its first cells painted again with pictures of at least 320 pixels.
    qtbot.waitUntil(lambda: shown(browser.grid, browser.model.items[0]) >= 320, timeout=30_000)
    first = browser.proxy.index(0, 0)
    assert browser.grid.visualRect(first).height() >= 320
    # The search results, resized while their tab was hidden: every one loaded again, no new search needed.
    window.tabs.setCurrentWidget(search)
    qtbot.waitUntil(lambda: all(shown(search.grid, i) >= 320 for i in search.model.items), timeout=30_000)
    assert search.model.items[0]["group"].startswith("This photo")  # still the same question's answer


def test_each_group_shows_a_strip_of_its_pictures(qtbot, window):
    from fashionsim_desktop.ui.group_strip import PATHS_ROLE

    window.tabs.setCurrentWidget(window.groups)
    groups = window.groups
    qtbot.waitUntil(lambda: groups.group_model.rowCount() > 0)
    paths = groups.group_model.index(0, 0).data(PATHS_ROLE)
    assert len(paths) >= 2 and all(os.path.isabs(p) and os.path.exists(p) for p in paths)
    qtbot.waitUntil(lambda: all(groups.strip_thumbnails.pixmap(p) is not None for p in paths), timeout=20_000)


# -- progress ----------------------------------------------------------------------------------------------------
def test_a_stopped_bar_shows_no_time_left(qtbot):
    panel = ProgressPanel()
    qtbot.addWidget(panel)
    panel.update_status(PhaseStatus("scan", 40, 40, 0.0, 0.2))
    panel.update_status(PhaseStatus("features", 120, 400, 0.0, 3.0))
    assert "left" in panel.details["features"].text()  # while it runs, the estimate is shown
    panel.finish("stopped")
    assert not any("left" in label.text() or "/s" in label.text() for label in panel.details.values())
    assert panel.details["features"].text() == "120 of 400 · stopped"
    assert panel.details["scan"].text() == "40 of 40 · done"


def test_cancelled_indexing_leaves_no_time_left(qtbot, isolated_home, tmp_path, model_path):
    """The real thing: indexing 120 packshots, cancelled while the bar estimates the time left."""
    from fashionsim_desktop.ui.app import create_window

    folder = tmp_path / "shoot"
    folder.mkdir()
    for p in some_hm_images(120, skip=1000):
        shutil.copyfile(p, folder / p.name)
    win = create_window([])
    qtbot.addWidget(win)
    win.show()
    assert win.open_folder(folder)
    qtbot.waitUntil(lambda: any(" left" in label.text() for label in win.progress.details.values()), timeout=60_000)
    win.cancel_indexing()
    qtbot.waitUntil(lambda: win.index_worker is None, timeout=INDEX_TIMEOUT_MS)
    assert not any(" left" in label.text() for label in win.progress.details.values())
    assert any("stopped" in label.text() for label in win.progress.details.values())
    win.close()
