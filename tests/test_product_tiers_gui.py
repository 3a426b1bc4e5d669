"""The window's product tiers, driven like a curator would: the variants queue with key V, and search results
grouped by tier with the query picture shown and a pasted picture named as pasted."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FASHIONSIM_NO_DIALOGS", "1")

from PySide6.QtCore import QMimeData, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from fashionsim_desktop.core.catalogue_files import variant_groups  # noqa: E402
from fashionsim_desktop.core.tiers import Tier  # noqa: E402
from fashionsim_desktop.store.catalog import Catalog  # noqa: E402
from fashionsim_desktop.ui.review_tab import TIER_CHOICES  # noqa: E402

from .test_gui import open_and_index, window  # noqa: E402,F401 -- the shared window fixture
from .test_product_tiers import colourway_folder  # noqa: E402


@pytest.fixture
def indexed(qtbot, window, tmp_path):  # noqa: F811
    folder, chosen = colourway_folder(tmp_path)
    open_and_index(qtbot, window, folder)
    return window, folder, chosen


def test_variant_queue_and_key_v(qtbot, indexed):
    window, folder, chosen = indexed
    review = window.review
    assert all(p.tier in (Tier.EXACT, Tier.DUPLICATE) for p in review.model.pairs)  # duplicates first
    variants_entry = next(i for i, (_, tiers) in enumerate(TIER_CHOICES) if Tier.VARIANT in tiers)
    review.kind_filter.setCurrentIndex(variants_entry)
    assert review.model.pairs and all(p.tier == Tier.VARIANT for p in review.model.pairs)
    pair = review.current_pair()
    assert pair is not None
    review.setFocus()
    QTest.keyClick(review, Qt.Key.Key_V)
    qtbot.waitUntil(lambda: pair.decision == "variant", timeout=5_000)
    with Catalog(window.session.catalog_dir) as catalog:  # on disk at once, and exported as one variant group
        assert catalog.decisions()[pair.key]["decision"] == "variant"
        rows = variant_groups(catalog)
    assert {r["sha256"] for r in rows} == {pair.sha_a, pair.sha_b}
    # A variant never joins a merge group.
    window.tabs.setCurrentWidget(window.groups)  # groups are worked out when their tab is shown
    qtbot.waitUntil(lambda: bool(window.groups.groups), timeout=10_000)
    assert all(pair.key not in {(p.sha_a, p.sha_b) for p in group} for group in window.groups.groups)


def test_search_by_tier_shows_the_query_and_names_a_paste(qtbot, indexed):
    window, folder, chosen = indexed
    search = window.search
    with qtbot.waitSignal(search.resultsShown, timeout=60_000):
        search.search_file(str(folder / f"{chosen[0][0]}.jpg"))
    items = search.model.items
    assert items[0]["group"].startswith("This photo") and len(items[0]["copies"]) == 2  # itself + the web copy
    groups = [i["tier"] for i in items]
    assert groups == sorted(groups, key=lambda t: t.rank)
    assert search.query_preview.pixmap() is not None and not search.query_preview.pixmap().isNull()
    assert "copies of this photo" in search.query_label.text()

    # Find similar on a result shows the catalogue picture it asks about.
    similar_to = items[1]
    with qtbot.waitSignal(search.resultsShown, timeout=60_000):
        search.search_similar(similar_to["sha256"], os.path.basename(similar_to["path"]))
    qtbot.waitUntil(lambda: search.query_preview.pixmap() is not None and not search.query_preview.pixmap().isNull(),
                    timeout=10_000)

    # A pasted picture is called pasted.
    mime = QMimeData()
    mime.setImageData(QImage(str(folder / f"{chosen[1][0]}.jpg")))
    QGuiApplication.clipboard().setMimeData(mime)
    try:
        with qtbot.waitSignal(search.resultsShown, timeout=60_000):
            window.paste()
    finally:
        QGuiApplication.clipboard().clear()  # data left on the clipboard crashes Qt's clean-up at exit
    assert "pasted picture" in search.query_label.text()


def test_reopening_shows_the_duplicates_at_once_and_the_variants_follow(qtbot, indexed):
    window, folder, _ = indexed
    duplicates = [p.key for p in window.session.pairs]
    variants = sorted(p.key for p in window.session.variant_pairs)
    assert duplicates and variants
    assert window.open_folder(folder)  # the same catalogue again, as on the next morning
    assert [p.key for p in window.review.model.pairs] == duplicates  # loaded before the window shows a pair
    qtbot.waitUntil(lambda: sorted(p.key for p in window.session.variant_pairs) == variants, timeout=30_000)
    review = window.review
    review.kind_filter.setCurrentIndex(next(i for i, (_, tiers) in enumerate(TIER_CHOICES) if Tier.VARIANT in tiers))
    assert sorted(p.key for p in review.model.pairs) == variants
    qtbot.waitUntil(lambda: window.index_worker is None, timeout=120_000)  # the run it starts finds nothing new
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Up to date:"), timeout=30_000)
    assert "none new or changed" in window.statusBar().currentMessage()
