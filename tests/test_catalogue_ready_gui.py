"""Catalogue-ready, in the real window (qtbot, offscreen): product data imported through the dialog and shown in
every view, filters, the catalogue browser, skip that sticks, bulk merges with a preview and one undo step,
groups that respect pictures kept apart, and an export carrying product ids. Real H&M packshots with planted
copies, the real model, a real catalogue; dialogs are the real ones, answered through the window's answer_hook."""
from __future__ import annotations

import csv
import math
import os
import shutil

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["FASHIONSIM_NO_DIALOGS"] = "1"

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QDialogButtonBox, QInputDialog  # noqa: E402

from fashionsim_desktop.core.review import merge_groups  # noqa: E402
from fashionsim_desktop.ui.bulk_dialog import BulkDialog  # noqa: E402
from fashionsim_desktop.ui.models import PagedThumbnailModel, ThumbnailFilterProxy  # noqa: E402
from fashionsim_desktop.ui.palette import different_colour  # noqa: E402

from .conftest import SHARED, some_hm_images  # noqa: E402
from .test_gui import decisions_on_disk, open_and_index, window  # noqa: E402,F401  (window is a fixture)

ARTICLES = SHARED / "hm_dev" / "articles.csv"


@pytest.fixture
def hm_folder(tmp_path):
    """14 H&M packshots (colourway siblings among them) and planted copies: two byte copies (of A and B), and a
    mirrored and a cropped copy of C. Returns the folder and the article ids of A, B and C."""
    from PIL import Image, ImageOps

    folder = tmp_path / "hm"
    (folder / "a").mkdir(parents=True)
    (folder / "incoming").mkdir()
    originals = some_hm_images(14, skip=420)
    for p in originals:
        shutil.copyfile(p, folder / "a" / p.name)
    a, b, c = originals[0], originals[6], originals[5]
    shutil.copyfile(a, folder / "incoming" / "copy-of-A.jpg")
    shutil.copyfile(b, folder / "incoming" / "copy-of-B.jpg")
    with Image.open(c) as im:
        ImageOps.mirror(im).save(folder / "incoming" / "C-mirrored.png")
        w, h = im.size
        im.crop((20, 30, w - 15, h - 40)).save(folder / "incoming" / "C-cropped.jpg", quality=80)
    return folder, a.stem, b.stem, c.stem


def articles_subset(path, article_ids, extra_rows=6):
    """The real articles.csv, cut to these articles plus a few whose pictures are not in the folder."""
    with open(ARTICLES, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        headers = reader.fieldnames
    wanted = [r for r in rows if r["article_id"] in set(article_ids)]
    absent = [r for r in rows if r["article_id"] not in set(article_ids)][:extra_rows]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, headers)
        writer.writeheader()
        writer.writerows(wanted + absent)
    return {r["article_id"]: r for r in wanted}


def import_through_dialog(qtbot, win, csv_path, edits=()):
    """File ▸ Import Product Data… on a file: wait for the columns, apply `edits` (field, column), Import."""
    before = win.session.products
    dialog = win.import_product_data(csv_path)
    qtbot.waitUntil(lambda: dialog.table is not None and dialog.import_button.isEnabled(), timeout=10_000)
    for field, column in edits:
        dialog.choose(field, column)
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=30_000)
    close_dialog(qtbot, win, dialog)
    qtbot.waitUntil(lambda: win.session.products is not before, timeout=10_000)  # the views' reload
    return dialog


def close_dialog(qtbot, win, dialog):
    """Close, and give the window back its activation as a window manager would (offscreen has none): the
    window's shortcuts (Ctrl+Z) only work in the active window."""
    dialog.reject()
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5_000)


def pair_named(win, name_a, name_b):
    return next(p for p in win.review.model.pairs
                if {os.path.basename(p.path_a), os.path.basename(p.path_b)} == {name_a, name_b})


def metadata(win) -> dict:
    """The review's metadata table as {row label: (A, B, A highlighted)}."""
    table = win.review.compare.table
    different = different_colour(win.review.compare.palette())  # the highlight follows the palette
    return {table.item(r, 0).text(): (table.item(r, 1).text(), table.item(r, 2).text(),
                                      table.item(r, 1).background().color() == different)
            for r in range(table.rowCount())}


def show_pair(qtbot, win, pair):
    review = win.review
    review.state_filter.setCurrentIndex(0)
    row = review._proxy_row_of(pair)
    review.select_proxy_row(row)
    assert review.current_pair() is pair


def test_import_bulk_merge_undo_split_and_export(qtbot, window, hm_folder, tmp_path):
    folder, a_id, b_id, c_id = hm_folder
    open_and_index(qtbot, window, folder)
    articles = articles_subset(tmp_path / "articles.csv", [p.stem for p in (folder / "a").glob("*.jpg")])

    # The import dialog: the detected mapping, one change, a preview, the report.
    before = window.session.products
    dialog = window.import_product_data(tmp_path / "articles.csv")
    qtbot.waitUntil(lambda: dialog.table is not None, timeout=10_000)
    detected = {f: c.currentText() for f, c in dialog.combos.items()}
    assert detected == {"image_key": "article_id", "product_id": "article_id", "sku": "— not imported —",
                        "product_group": "product_code", "colour": "colour_group_name",
                        "category": "product_type_name", "name": "prod_name"}
    dialog.choose("category", "product_group_name")  # the curator prefers the broader group as the category
    columns = dialog.preview_model.COLUMNS
    first = dict(zip(columns, dialog.preview_model.rows[0]))
    first_row = next(iter(articles.values()))
    assert "SKU" not in columns
    assert first == {"Image key": first_row["article_id"], "Product id": first_row["article_id"],
                     "Product group": first_row["product_code"], "Colour": first_row["colour_group_name"],
                     "Category": first_row["product_group_name"], "Name": first_row["prod_name"]}
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=30_000)
    report = dialog.report
    assert (report.rows, report.matched_rows, report.pictures, report.waiting_rows) == (20, 14, 14, 6)
    assert "20 rows read" in dialog.status.text() and "14 pictures" in dialog.status.text()
    assert "6 rows are waiting for their pictures" in dialog.status.text()
    assert dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).text() == "Close"
    close_dialog(qtbot, window, dialog)
    qtbot.waitUntil(lambda: window.session.products is not before, timeout=10_000)  # every view reloads

    # The review's metadata: product data per side, differences highlighted.
    exact_a = pair_named(window, f"{a_id}.jpg", "copy-of-A.jpg")
    show_pair(qtbot, window, exact_a)
    rows = metadata(window)
    assert rows["Product id"] == (a_id, a_id, False)  # one content: the same product on both sides
    assert rows["Category"][0] == articles[a_id]["product_group_name"]
    mirrored = pair_named(window, f"{c_id}.jpg", "C-mirrored.png")
    show_pair(qtbot, window, mirrored)
    rows = metadata(window)
    side = 0 if os.path.basename(mirrored.path_a) == f"{c_id}.jpg" else 1
    assert rows["Product id"][side] == c_id and rows["Product id"][1 - side] == "—"
    assert rows["Product id"][2]  # highlighted: only one side is known
    assert rows["Colour"][side] == articles[c_id]["colour_group_name"]

    # Edit ▸ Merge Every Exact Pair…: the preview lists both byte copies; accepted, one undo step.
    exact_b = pair_named(window, f"{b_id}.jpg", "copy-of-B.jpg")
    seen = []

    def accept_preview(dlg):
        seen.append(dlg)
        assert isinstance(dlg, BulkDialog)
        assert dlg.summary.text().startswith("Merge 2 exact pairs.")
        assert sorted(r[3] for r in dlg.model.rows) == ["incoming/copy-of-A.jpg", "incoming/copy-of-B.jpg"]
        return True

    window.answer_hook = accept_preview
    assert window.merge_every_exact_pair() == 2 and len(seen) == 1
    assert decisions_on_disk(window) == {exact_a.key: "merge", exact_b.key: "merge"}
    assert exact_a.decision == "merge" and "2 of" in window.review.done_label.text()

    # Ctrl+Z in the Groups tab takes the whole bulk step back, in every view.
    window.tabs.setCurrentWidget(window.groups)
    groups = window.groups
    qtbot.waitUntil(lambda: "2 groups" in groups.summary_label.text())  # worked out in a worker
    groups.setFocus()
    qtbot.keyClick(groups, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert decisions_on_disk(window) == {}
    assert all(p.decision is None for p in window.review.model.pairs)
    assert window.review.done_label.text().startswith("0 of ")
    qtbot.waitUntil(lambda: "0 groups" in groups.summary_label.text())
    assert all(" · 0/" in groups.group_model.item(r).text() for r in range(groups.group_model.rowCount()))
    assert window.statusBar().currentMessage().startswith("Undone: merge of 2 pairs")

    # Split the cropped copy off C's group; Merge whole group leaves it out.
    row = next(i for i, g in enumerate(groups.groups)
               if "incoming/C-cropped.jpg" in {x for p in g for x in (p.path_a, p.path_b)})
    groups.group_list.setCurrentIndex(groups.group_model.index(row, 0))
    captions = {i["path"]: i["caption"] for i in groups.member_model.items}
    assert c_id in captions[f"a/{c_id}.jpg"]  # the product id under its thumbnail
    cropped = next(i for i, item in enumerate(groups.member_model.items) if item["path"] == "incoming/C-cropped.jpg")
    groups.members.setCurrentIndex(groups.member_model.index(cropped, 0))
    groups.members.setFocus()
    qtbot.keyClick(groups.members, Qt.Key.Key_Delete)
    row = next(i for i, g in enumerate(groups.groups)
               if "incoming/C-mirrored.png" in {x for p in g for x in (p.path_a, p.path_b)})
    groups.group_list.setCurrentIndex(groups.group_model.index(row, 0))
    assert "incoming/C-cropped.jpg" not in {i["path"] for i in groups.member_model.items}
    groups.members.setFocus()
    qtbot.keyClick(groups.members, Qt.Key.Key_G)
    on_disk = decisions_on_disk(window)
    assert on_disk[mirrored.key] == "merge"
    cropped_sha = window.session.files[b"incoming/C-cropped.jpg"]["sha256"]
    assert all(d == "keep" for k, d in on_disk.items() if cropped_sha in k)
    merged = merge_groups(window.session.catalog, with_scores=False)
    assert [sorted(m.path for m in g.members) for g in merged] == [[f"a/{c_id}.jpg", "incoming/C-mirrored.png"]]
    assert mirrored.decision == "merge"  # the review queue shows the group's merge too

    # Export: the confirmation says how many pairs are still undecided; the file carries product ids.
    window.tabs.setCurrentWidget(window.review)
    show_pair(qtbot, window, exact_a)
    window.review.setFocus()
    qtbot.keyClick(window.review, Qt.Key.Key_M)  # B's byte copy stays undecided
    assert exact_b.decision is None
    asked = []
    window.answer_hook = lambda dlg: asked.append(dlg.text()) and False  # read it, then say no
    window.export_dialog()
    qtbot.waitUntil(lambda: bool(asked))  # the merge groups are read in a worker first
    assert f"1 of {len(window.review.model.pairs)} proposed pairs are still undecided" in asked[0]
    out = tmp_path / "merges.csv"
    assert window.export_to(out, "csv") == 2
    exported = {r["keeper_sha256"] == r["duplicate_sha256"]: r
                for r in csv.DictReader(out.open(newline="", encoding="utf-8"))}
    byte_copy, near_copy = exported[True], exported[False]
    assert byte_copy["keeper_product_id"] == byte_copy["duplicate_product_id"] == a_id  # one content, one product
    assert {near_copy["keeper_product_id"], near_copy["duplicate_product_id"]} == {c_id, ""}  # the copy has none
    assert "incoming/C-cropped.jpg" not in {r[f"{side}_path"] for r in exported.values()
                                            for side in ("keeper", "duplicate")}


def test_skip_sticks_filters_browser_and_shared_photos(qtbot, window, hm_folder, tmp_path):
    folder, a_id, b_id, c_id = hm_folder
    open_and_index(qtbot, window, folder)
    articles = articles_subset(tmp_path / "articles.csv", [p.stem for p in (folder / "a").glob("*.jpg")])
    import_through_dialog(qtbot, window, tmp_path / "articles.csv")
    review = window.review

    # S records a skip: remembered on disk, filtered as "Skipped", counted, undoable, never offered next.
    review.state_filter.setCurrentIndex(0)
    review.select_proxy_row(0)
    skipped = review.current_pair()
    review.setFocus()
    qtbot.keyClick(review, Qt.Key.Key_S)
    assert decisions_on_disk(window) == {skipped.key: "skip"}
    assert review.current_pair() is not skipped
    assert review.done_label.text().endswith("pairs decided (1 skipped)")
    review.state_filter.setCurrentIndex(review.state_filter.findText("Skipped"))
    assert [review.proxy.data(review.proxy.index(r, 0), Qt.ItemDataRole.UserRole + 1)
            for r in range(review.proxy.rowCount())] == [skipped]
    review.state_filter.setCurrentIndex(review.state_filter.findText("Undecided"))
    assert review._proxy_row_of(skipped) is None
    review.state_filter.setCurrentIndex(0)
    window.undo()
    assert decisions_on_disk(window) == {}
    review.select_proxy_row(review._proxy_row_of(skipped))
    qtbot.keyClick(review, Qt.Key.Key_S)
    assert window.open_folder(folder)  # reopened: the next undecided pair is not the skipped one
    qtbot.waitUntil(lambda: window.index_worker is None and window.review.model.rowCount() > 0, timeout=60_000)
    assert window.review.current_pair().key != skipped.key
    assert window.review.current_pair().decision is None
    review = window.review

    # Filters in the queue: category, colour, product id or group, folder.
    c_row = articles[c_id]
    review.filter_bar.choose(category=c_row["product_type_name"], colour=c_row["colour_group_name"])
    shown = [review.proxy.data(review.proxy.index(r, 0), Qt.ItemDataRole.UserRole + 1)
             for r in range(review.proxy.rowCount())]
    assert shown and all(c_id in (os.path.basename(p.path_a) + os.path.basename(p.path_b)) for p in shown)
    review.filter_bar.choose()
    review.filter_bar.product.setText(a_id[:-3])  # part of the product id: A's byte-copy pair
    shown = {review.proxy.data(review.proxy.index(r, 0), Qt.ItemDataRole.UserRole + 1).key
             for r in range(review.proxy.rowCount())}
    assert pair_named(window, f"{a_id}.jpg", "copy-of-A.jpg").key in shown
    assert pair_named(window, f"{b_id}.jpg", "copy-of-B.jpg").key not in shown
    review.filter_bar.product.setText(articles[c_id]["product_code"])  # C's product group
    review.filter_bar.folder.setText("incoming")
    assert review.proxy.rowCount() >= 2 and all(
        c_id in (p.path_a + p.path_b) for p in (review.proxy.data(review.proxy.index(r, 0),
                                                                    Qt.ItemDataRole.UserRole + 1)
                                                 for r in range(review.proxy.rowCount())))
    review.filter_bar.product.setText("")
    review.filter_bar.folder.setText("")

    # The catalogue browser: every picture, a page at a time, filtered, Find similar on any of them.
    window.tabs.setCurrentWidget(window.browser)
    browser = window.browser
    total = len(window.session.files)
    assert total == 18 and browser.count_label.text() == "18 pictures"
    browser.model.page_size = 5
    browser._shown_from = None
    browser.refresh()
    assert browser.model.rowCount() == 5 and browser.model.canFetchMore()
    qtbot.waitUntil(lambda: not browser.model.canFetchMore(), timeout=10_000)  # the view asks while it has room
    assert browser.model.rowCount() == total
    qtbot.waitUntil(lambda: sum(1 for i in browser.model.items if i.get("icon") is not None) >= 5, timeout=20_000)
    assert sorted(p for p, r in articles.items() if r["product_type_name"] == "Trousers") == [a_id, c_id]
    browser.filter_bar.choose(category="Trousers")
    shown = {browser.proxy.item(browser.proxy.index(r, 0))["path"] for r in range(browser.proxy.rowCount())}
    assert shown == {f"a/{a_id}.jpg", "incoming/copy-of-A.jpg", f"a/{c_id}.jpg"}  # copies with no data are not
    assert browser.count_label.text() == "3 of 18 pictures match"
    browser.filter_bar.folder.setText("incoming")  # A's byte copy is a trouser photo in incoming/
    shown = [browser.proxy.item(browser.proxy.index(r, 0)) for r in range(browser.proxy.rowCount())]
    assert [i["path"] for i in shown] == ["incoming/copy-of-A.jpg"] and a_id in shown[0]["caption"]
    browser.grid.setCurrentIndex(browser.proxy.index(0, 0))
    with qtbot.waitSignal(window.search.resultsShown, timeout=60_000):
        qtbot.mouseClick(browser.similar_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.search

    # Search results: product captions and the same filters.
    search = window.search
    mirrored_sha = window.session.files[b"incoming/C-mirrored.png"]["sha256"]
    with qtbot.waitSignal(search.resultsShown, timeout=60_000):
        window.find_similar(mirrored_sha, "C-mirrored.png")
    captions = {i["path"]: i["caption"] for i in search.model.items}
    assert c_id in captions[f"a/{c_id}.jpg"] and articles[c_id]["colour_group_name"] in captions[f"a/{c_id}.jpg"]
    search.filter_bar.choose(colour=articles[c_id]["colour_group_name"])  # Blue: only C among these
    visible = [search.proxy.item(search.proxy.index(r, 0))["path"] for r in range(search.proxy.rowCount())]
    assert visible == [f"a/{c_id}.jpg"]
    assert search.hidden_label.text() == f"{search.model.rowCount() - 1} hidden by the filters"
    search.filter_bar.choose()

    # A photo two products share: flagged in the review and in captions.
    shared_csv = tmp_path / "shared.csv"
    shared_csv.write_text("image;product_id;sku\nincoming/copy-of-B.jpg;SET-77;SET-77-ONE\n", encoding="utf-8")
    import_through_dialog(qtbot, window, shared_csv)
    qtbot.waitUntil(lambda: bool(window.session.shared), timeout=10_000)
    exact_b = pair_named(window, f"{b_id}.jpg", "copy-of-B.jpg")
    window.tabs.setCurrentWidget(review)
    show_pair(qtbot, window, exact_b)
    rows = metadata(window)
    assert rows["Product id"][:2] == (f"{b_id}|SET-77", f"{b_id}|SET-77")  # one content: both products, each side
    assert rows["SKU"][:2] == ("SET-77-ONE", "SET-77-ONE")
    assert rows["Shared photo"][:2] == ("shared photo", "shared photo")


def test_duplicate_pairs_by_score_and_the_new_models(qtbot, qtmodeltester, window, hm_folder):
    folder, a_id, b_id, c_id = hm_folder
    open_and_index(qtbot, window, folder)
    near = [p for p in window.review.model.pairs if p.kind == "near"]
    cut = math.floor(sorted(p.score for p in near)[len(near) // 2] * 100) / 100  # the dialog takes 2 decimals

    def answer(dlg):
        if isinstance(dlg, QInputDialog):
            dlg.setDoubleValue(cut)
            return True
        assert isinstance(dlg, BulkDialog) and dlg.plan.min_score == pytest.approx(cut)
        assert all(p.kind == "near" and p.score >= cut - 1e-6 for p in dlg.plan.pairs)
        return True

    window.answer_hook = answer
    expected = {p.key for p in near if p.score >= cut - 1e-6}
    window.merge_every_duplicate_pair()
    assert {k for k, d in decisions_on_disk(window).items() if d == "merge"} <= expected
    assert {k for k, d in decisions_on_disk(window).items() if d == "merge"}
    window.answer_hook = lambda dlg: False  # declined: nothing more is decided
    before = decisions_on_disk(window)
    window.merge_every_exact_pair()
    assert decisions_on_disk(window) == before

    # The paged browser model and the thumbnail filter proxy pass Qt's model checks.
    model = PagedThumbnailModel(page_size=4)
    model.set_items([{"path": f"x/{i}.jpg", "abs_path": f"/x/{i}.jpg", "sha256": str(i), "caption": str(i)}
                     for i in range(10)])
    qtmodeltester.check(model)
    proxy = ThumbnailFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    while model.canFetchMore():
        model.fetchMore()
    assert model.rowCount() == 10
