"""The keeper policy and the intake check in the real window (qtbot, offscreen): the policy dialog saves what
core/keeper.load_policy reads back, "Apply keeper policy to every group…" previews and is one undo step, a folder
dropped on Visual search is checked as a new shoot, and the keeper policy (which decodes pictures) never runs on
the UI thread. Real H&M packshots with planted copies, the real model, a real catalogue; dialogs are the real ones,
answered through the window's answer_hook.

Set FASHIONSIM_SHOTS=/some/folder to also save screenshots of the policy dialog and the intake report there."""
from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["FASHIONSIM_NO_DIALOGS"] = "1"

from PySide6.QtCore import QMimeData, QPoint, Qt, QTimer, QUrl  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDropEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QDialogButtonBox  # noqa: E402

from fashionsim_desktop.core import keeper  # noqa: E402
from fashionsim_desktop.store.catalog import Catalog  # noqa: E402
from fashionsim_desktop.ui.intake_dialog import IntakeDialog  # noqa: E402
from fashionsim_desktop.ui.keeper_dialog import KeeperPlanDialog, KeeperPolicyDialog  # noqa: E402

from .conftest import some_hm_images  # noqa: E402
from .test_catalogue_ready_gui import (articles_subset, hm_folder, import_through_dialog, metadata,  # noqa: E402,F401
                                       pair_named, show_pair)
from .test_gui import open_and_index, window  # noqa: E402,F401  (fixtures)


def shot(widget, name: str) -> None:
    folder = os.environ.get("FASHIONSIM_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(Path(folder) / name))


def keepers_on_disk(win) -> dict:
    with Catalog(win.session.catalog_dir) as catalog:  # a separate connection: what is really stored
        return catalog.keepers()


def merge_every_pair(win) -> None:
    session = win.session
    session.apply_plan(session.plan_merge())
    win.review.show_decisions()


def wait_for_keeper_row(qtbot, win, text: str) -> None:
    qtbot.waitUntil(lambda: text in metadata(win).get("Suggested keeper", ("",))[0], timeout=30_000)


def test_policy_dialog_saves_an_order_the_core_reads(qtbot, window, hm_folder):
    folder, a_id, b_id, c_id = hm_folder
    open_and_index(qtbot, window, folder)
    mirrored = pair_named(window, f"{c_id}.jpg", "C-mirrored.png")
    show_pair(qtbot, window, mirrored)
    # The star and the reason come from the catalogue's policy, worked out in a worker.
    wait_for_keeper_row(qtbot, window, f"{c_id}.jpg — the other is a mirrored copy")
    shot(window, "review_keeper.png")

    def edit(dialog):
        assert isinstance(dialog, KeeperPolicyDialog)
        assert dialog.criteria.keys() == list(keeper.CRITERIA) and dialog.criteria.used() == list(keeper.CRITERIA)
        criteria = dialog.criteria
        criteria.list.setCurrentRow(criteria.row_of("formats"))
        for _ in range(4):  # to the top
            qtbot.mouseClick(criteria.up_button, Qt.MouseButton.LeftButton)
        criteria.set_used("largest", False)
        dialog.formats.list.setCurrentRow(dialog.formats.row_of("PNG"))
        qtbot.mouseClick(dialog.formats.up_button, Qt.MouseButton.LeftButton)
        dialog.add_reference_folder(str(folder / "a"))
        dialog.show()
        shot(dialog, "keeper_policy.png")
        qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton)
        return dialog.result() == KeeperPolicyDialog.DialogCode.Accepted

    window.answer_hook = edit
    assert window.keeper_policy_dialog()
    with Catalog(window.session.catalog_dir) as catalog:  # what the CLI and the export read
        saved = keeper.load_policy(catalog)
    assert saved == keeper.Policy(("formats", "reference", "original", "resolution", "product_data", "oldest"),
                                  ("a",), ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "GIF"))
    # The review follows at once: a preferred format now decides before the original does.
    wait_for_keeper_row(qtbot, window, "C-mirrored.png — preferred format (PNG over JPEG)")
    assert "★ suggested keeper" in window.review.compare.captions[
        0 if mirrored.path_a.endswith("C-mirrored.png") else 1].text()

    # Opened again, the dialog shows the saved policy; Cancel changes nothing.
    window.answer_hook = lambda dialog: (dialog.criteria.used()[0] == "formats"
                                         and "largest" not in dialog.criteria.used() and False)
    assert not window.keeper_policy_dialog()


def test_apply_keeper_policy_with_preview_then_undo(qtbot, window, hm_folder):
    folder, a_id, b_id, c_id = hm_folder
    open_and_index(qtbot, window, folder)
    merge_every_pair(window)
    window.tabs.setCurrentWidget(window.groups)
    groups = window.groups
    qtbot.waitUntil(lambda: "3 groups" in groups.summary_label.text(), timeout=30_000)
    row = next(i for i, g in enumerate(groups.groups)
               if "incoming/C-mirrored.png" in {x for p in g for x in (p.path_a, p.path_b)})
    groups.group_list.setCurrentIndex(groups.group_model.index(row, 0))
    qtbot.waitUntil(lambda: "mirrored copy" in groups.keeper_label.text(), timeout=30_000)
    assert groups.keeper_label.text().startswith(f"<b>Keeper:</b> {c_id}.jpg — ")
    starred = [i["path"] for i in groups.member_model.items if i["caption"].startswith("★")]
    assert starred == [f"a/{c_id}.jpg"]
    shot(window, "groups_keeper.png")

    seen = []

    def accept(dialog):
        seen.append(dialog)
        assert isinstance(dialog, KeeperPlanDialog)
        assert dialog.summary.text().startswith("Make the suggested keeper the chosen keeper of 3 merge groups.")
        assert "One undo step (Ctrl+Z)" in dialog.summary.text()
        rows = {r[0]: r for r in dialog.model.rows}
        assert set(rows) >= {f"a/{c_id}.jpg"}
        assert rows[f"a/{c_id}.jpg"][1].startswith(f"{c_id}.jpg — ") and "mirrored copy" in rows[f"a/{c_id}.jpg"][1]
        assert set(rows[f"a/{c_id}.jpg"][2].split(", ")) == {"incoming/C-cropped.jpg", "incoming/C-mirrored.png"}
        dialog.show()
        shot(dialog, "keeper_plan.png")
        dialog.hide()
        return True

    window.answer_hook = accept
    qtbot.mouseClick(groups.apply_policy_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(seen), timeout=30_000)
    plan = seen[0].plan
    c_sha = window.session.files[f"a/{c_id}.jpg".encode()]["sha256"]
    assert set(keepers_on_disk(window)) == {g.keeper.sha256 for g in plan.choices} and c_sha in keepers_on_disk(window)
    qtbot.waitUntil(lambda: "chosen by the curator" in groups.keeper_label.text(), timeout=10_000)

    # Ctrl+Z takes the whole step back; the groups tab shows the policy's suggestion again.
    window.activateWindow()  # the window's shortcuts work in the active window (offscreen has no manager)
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    groups.setFocus()
    qtbot.keyClick(groups, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert keepers_on_disk(window) == {}
    assert window.statusBar().currentMessage().startswith("Undone: the keeper choice of 3 groups")
    qtbot.waitUntil(lambda: "mirrored copy" in groups.keeper_label.text(), timeout=30_000)


@pytest.fixture
def shoot(tmp_path, hm_folder):
    """A new shoot outside the catalogue: a byte copy of A, a mirrored copy of B, an unrelated packshot and a
    file that is no picture."""
    from PIL import Image, ImageOps

    folder, a_id, b_id, c_id = hm_folder
    new = tmp_path / "shoot"
    new.mkdir()
    shutil.copyfile(folder / "a" / f"{a_id}.jpg", new / "look-01.jpg")
    with Image.open(folder / "a" / f"{b_id}.jpg") as im:
        ImageOps.mirror(im).save(new / "look-02.jpg", quality=90)
    unrelated = some_hm_images(1, skip=900)[0]
    shutil.copyfile(unrelated, new / "look-03.jpg")
    (new / "look-04.jpg").write_bytes(b"")
    return new


@pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")  # Qt has no other constructor
def test_intake_check_of_a_folder_dropped_on_visual_search(qtbot, window, hm_folder, shoot, tmp_path):
    folder, a_id, b_id, c_id = hm_folder
    open_and_index(qtbot, window, folder)
    articles_subset(tmp_path / "articles.csv", [p.stem for p in (folder / "a").glob("*.jpg")])
    import_through_dialog(qtbot, window, tmp_path / "articles.csv")

    # File ▸ Check a New Shoot… runs in a worker with a bar per phase; Cancel stops it.
    first = window.check_new_shoot(shoot)
    assert isinstance(first, IntakeDialog) and first.running
    qtbot.mouseClick(first.progress.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not first.running, timeout=60_000)
    assert first.report is None and first.status.text().startswith("Cancelled")

    # A folder dropped on the Visual search tab is checked, not opened as the catalogue.
    window.tabs.setCurrentWidget(window.search)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(shoot))])
    where = (QPoint(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
             Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(*where)  # as a drag from the file manager: it enters the tab, then drops
    QApplication.sendEvent(window.search, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(window.search, QDropEvent(*where))
    dialog = window.intake_dialog
    assert dialog is not first and dialog.folder == shoot
    assert window.session.folder == folder.resolve()  # the catalogue stays open
    qtbot.waitUntil(lambda: dialog.report is not None or dialog.failure is not None, timeout=180_000)
    assert dialog.failure is None
    table = {dialog.proxy.index(r, 0).data(): [dialog.proxy.index(r, c).data() for c in range(1, 6)]
             for r in range(dialog.proxy.rowCount())}
    assert table["look-01.jpg"][0] == "exact copy"  # every catalogue path of that content, A and its byte copy
    assert table["look-01.jpg"][1].split("\n") == [f"a/{a_id}.jpg", "incoming/copy-of-A.jpg"]
    assert table["look-01.jpg"][2] == "same bytes\nsame bytes"
    assert table["look-01.jpg"][3] == a_id  # the catalogue's product data
    assert table["look-02.jpg"][0] == "edited copy"
    assert table["look-02.jpg"][1].split("\n") == [f"a/{b_id}.jpg", "incoming/copy-of-B.jpg"]
    assert all(float(s) >= window.session.min_score for s in table["look-02.jpg"][2].split("\n"))
    assert table["look-02.jpg"][3] == b_id
    assert table["look-03.jpg"] == ["new", "—", "", "", ""]
    assert table["look-04.jpg"][0] == "unreadable" and "empty" in table["look-04.jpg"][1]
    assert [dialog.item_at(r).status for r in range(4)] == ["exact", "duplicate", "error", "new"]  # copies first
    assert dialog.status.text().startswith(f"<b>4 pictures in {shoot}: 1 exact and 1 edited copies of catalogue "
                                           "pictures, 1 new, 1 unreadable")
    qtbot.waitUntil(lambda: len(dialog.model.icons) == 3, timeout=10_000)  # thumbnails of the readable ones
    shot(dialog, "intake_report.png")

    # Double-click the edited copy: the shoot's picture beside the catalogue's.
    row = next(r for r in range(dialog.proxy.rowCount()) if dialog.item_at(r).path == "look-02.jpg")
    cell = dialog.table.visualRect(dialog.proxy.index(row, 1)).center()
    qtbot.mouseClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=cell)  # a double-click's press
    qtbot.mouseDClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    viewer = dialog.viewer
    assert viewer is not None and viewer.isVisible()
    qtbot.waitUntil(lambda: None not in viewer.compare.images, timeout=10_000)
    assert viewer.compare.images[0].size() == viewer.compare.images[1].size()  # a mirror keeps the size
    assert "look-02.jpg" in viewer.compare.captions[0].text() and f"{b_id}.jpg" in viewer.compare.captions[1].text()
    shot(viewer, "intake_pair.png")
    dialog.reject()


def test_keeper_policy_never_runs_on_the_ui_thread(qtbot, window, hm_folder, monkeypatch):
    """Groups summary and keeper marks, the export's confirmation and the review's star all need the keeper policy,
    which decodes and compares pictures: it must run in workers while the window keeps answering."""
    folder, a_id, b_id, c_id = hm_folder
    open_and_index(qtbot, window, folder)
    merge_every_pair(window)

    monkeypatch.setattr(keeper, "_cache", keeper._Cache())  # nothing compared yet: every pair is decoded again
    compared_on = []
    real = keeper.Context.comparison

    def comparison(self, a, b):
        compared_on.append(threading.current_thread() is threading.main_thread())
        return real(self, a, b)

    monkeypatch.setattr(keeper.Context, "comparison", comparison)
    ticks = [time.monotonic()]
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()

    window.tabs.setCurrentWidget(window.groups)
    groups = window.groups
    row = next(i for i, g in enumerate(groups.groups)
               if "incoming/C-mirrored.png" in {x for p in g for x in (p.path_a, p.path_b)})
    groups.group_list.setCurrentIndex(groups.group_model.index(row, 0))
    qtbot.waitUntil(lambda: "3 groups" in groups.summary_label.text(), timeout=30_000)
    assert compared_on and not any(compared_on), "the groups summary compared pictures on the UI thread"
    qtbot.waitUntil(lambda: "mirrored copy" in groups.keeper_label.text(), timeout=30_000)

    asked = []
    window.answer_hook = lambda dialog: asked.append(dialog.text()) and False
    window.export_dialog()
    qtbot.waitUntil(lambda: bool(asked), timeout=30_000)
    assert "3 groups" in asked[0]

    window.tabs.setCurrentWidget(window.review)
    show_pair(qtbot, window, pair_named(window, f"{c_id}.jpg", "C-cropped.jpg"))
    wait_for_keeper_row(qtbot, window, f"{c_id}.jpg — the other is")
    timer.stop()

    assert not any(compared_on), "the keeper policy compared pictures on the UI thread"
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert max(gaps) < 0.25, f"the window stopped answering for {max(gaps):.2f} s"
