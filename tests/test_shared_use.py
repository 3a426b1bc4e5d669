"""The window and the CLI on one catalogue at the same time: each sees the other's changes, each undoes only
its own steps. Real window (qtbot), real catalogue, real `fashionsim` processes."""
from __future__ import annotations

from PySide6.QtCore import Qt

from .test_cli import run
from .test_gui import decisions_on_disk, open_and_index, window  # noqa: F401  (window is a fixture)

SEEN_WITHIN_MS = 10_000  # the window polls about once a second


def shown_decision(win, pair):
    """The decision the window's review queue shows for this pair of files."""
    return next(p.decision for p in win.review.model.pairs
                if (p.sha_a, p.sha_b, p.raw_a, p.raw_b) == (pair.sha_a, pair.sha_b, pair.raw_a, pair.raw_b))


def test_window_and_cli_see_each_other_and_undo_only_their_own(qtbot, window, small_catalog_folder,  # noqa: F811
                                                                isolated_home):
    open_and_index(qtbot, window, small_catalog_folder)
    review, folder = window.review, small_catalog_folder
    exact, near_1, near_2 = review.model.pairs  # the three planted duplicates, exact first

    # The CLI decides while the window is open: the review, the groups and the summary show it.
    review.select_proxy_row(2)
    run("decide", near_1.path_a, near_1.path_b, "merge", "--folder", folder, home=isolated_home)
    qtbot.waitUntil(lambda: shown_decision(window, near_1) == "merge", timeout=SEEN_WITHIN_MS)
    assert review.current_pair().key == near_2.key  # the curator's place in the queue is kept
    assert "1 of 3 pairs decided" in review.done_label.text()
    window.tabs.setCurrentWidget(window.groups)  # groups are worked out when their tab is shown, in a worker
    qtbot.waitUntil(lambda: "1 groups" in window.groups.summary_label.text(), timeout=30000)
    window.tabs.setCurrentWidget(review)

    # The window decides one pair, the CLI another; the window's Ctrl+Z, pressed in another tab, takes back
    # only the window's own decision.
    review.select_proxy_row(0)
    review.setFocus()
    qtbot.keyClick(review, Qt.Key.Key_M)
    run("decide", near_2.path_a, near_2.path_b, "keep", "--folder", folder, home=isolated_home)
    qtbot.waitUntil(lambda: shown_decision(window, near_2) == "keep", timeout=SEEN_WITHIN_MS)
    window.tabs.setCurrentWidget(window.groups)
    window.groups.setFocus()
    qtbot.keyClick(window.groups, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert decisions_on_disk(window) == {near_1.key: "merge", near_2.key: "keep"}
    assert shown_decision(window, exact) is None  # every view at once, no reload needed
    assert "2 of 3 pairs decided" in review.done_label.text()
    message = window.statusBar().currentMessage()
    assert message.startswith("Undone: merge of ") and message.endswith("(now undecided)"), message
    assert " ↔ " in message
    window.undo()
    assert window.statusBar().currentMessage() == "Nothing of yours to undo"
    assert decisions_on_disk(window) == {near_1.key: "merge", near_2.key: "keep"}

    # `fashionsim undo` takes back the CLI's steps, never the window's.
    window.tabs.setCurrentWidget(window.review)
    review.select_proxy_row(0)
    review.setFocus()
    qtbot.keyClick(review, Qt.Key.Key_K)
    said = run("undo", "--folder", folder, home=isolated_home).stdout
    assert "Undone: keep -> undecided" in said and near_2.path_a in said and near_2.path_b in said, said
    said = run("undo", "--folder", folder, home=isolated_home).stdout
    assert "Undone: merge -> undecided" in said and near_1.path_a in said and near_1.path_b in said, said
    assert "Nothing to undo" in run("undo", "--folder", folder, home=isolated_home).stdout
    assert decisions_on_disk(window) == {exact.key: "keep"}
    qtbot.waitUntil(lambda: shown_decision(window, near_1) is None and shown_decision(window, near_2) is None,
                    timeout=SEEN_WITHIN_MS)
    assert shown_decision(window, exact) == "keep"
