"""Take the README's screenshots of the real window at 1280×800, under Xvfb (or any X display).

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python build/screenshots.py OUT_DIR [--shared ../shared/data]

Builds a catalogue in a temporary folder from real packshots of the shared data (never written to): a few hundred
H&M pictures, among them products in several colours (same `product_code`, another colour, from `articles.csv`),
a byte copy, a smaller re-encoded web copy and a mirrored, cropped copy of one picture, so that every tier shows.
Indexes it and imports its product data with the command line, opens the real MainWindow (in a per-user folder
of its own, so your settings are untouched) and saves, in OUT_DIR:

- review-light.png, review-dark.png: Review pairs after a few decisions (merged and skipped rows tinted), showing the
  query picture beside its smaller web copy, in the light and the dark palette;
- groups.png: Groups with each group's strip of thumbnails and the query picture's group, its original packshot
  made the keeper by hand;
- search-grouped.png: Visual search after "Find similar" on a catalogue picture: the query picture, the copies of
  the photo in one cell, the same product in other colours, then similar products.
- catalogue-large-thumbnails.png: the Catalogue after Settings ▸ Thumbnail size 256 px.

PNGs are saved optimised (Pillow, optimize=True). Copy the ones you want to resources/screenshots/.
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 1280, 800
QUERY_PRODUCT = "443696"  # a hoodie shot in red, brown and orange: its red picture is the search query


def build_folder(shared: Path, folder: Path, others: int = 260, colour_products: int = 24) -> tuple[Path, Path]:
    """The catalogue folder and its product CSV; returns (query picture, product CSV)."""
    from PIL import Image, ImageOps

    images = shared / "hm_dev" / "images"
    rows = {}
    by_product = defaultdict(list)
    with open(shared / "hm_dev" / "articles.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            path = images / row["article_id"][:3] / f"{row['article_id']}.jpg"
            if path.exists():
                rows[row["article_id"]] = row
                by_product[row["product_code"]].append(row["article_id"])
    colourways = [arts for _, arts in sorted(by_product.items()) if len(arts) >= 3]
    query_group = by_product.get(QUERY_PRODUCT) or colourways[0]
    chosen = list(query_group)
    for arts in colourways[:colour_products]:
        chosen += [a for a in arts[:4] if a not in chosen]
    singles = [a for a in sorted(rows) if a not in chosen]
    singles = singles[:: max(1, len(singles) // others)][:others]
    chosen += singles
    for article in chosen:  # nested by the article's first three digits, as the shop exports them
        target = folder / "packshots" / article[:3] / f"{article}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(images / article[:3] / f"{article}.jpg", target)
    query = folder / "packshots" / query_group[0][:3] / f"{query_group[0]}.jpg"
    web = folder / "web-shop"
    web.mkdir()
    shutil.copyfile(query, web / f"{query_group[0]}.jpg")  # a byte copy
    with Image.open(query) as im:
        im = im.convert("RGB")
        w, h = im.size
        im.resize((w * 3 // 4, h * 3 // 4)).save(web / f"{query_group[0]}_small.jpg", quality=80)
        ImageOps.mirror(im.crop((w // 12, h // 12, w - w // 12, h - h // 14))).save(
            web / f"{query_group[0]}_mirror_crop.jpg", quality=85)
    # A few more pictures the web shop holds again, so Groups has several groups to show.
    for n, article in enumerate(singles[5:200:30]):
        source = folder / "packshots" / article[:3] / f"{article}.jpg"
        if not source.exists():
            continue
        if n % 2:
            shutil.copyfile(source, web / f"{article}.jpg")
        else:
            with Image.open(source) as im:
                im.convert("RGB").resize((im.width * 2 // 3, im.height * 2 // 3)).save(
                    web / f"{article}_web.jpg", quality=75)
    # Product data as the shop's catalogue system would export it (the byte copy is named like its original).
    products = folder.parent / "products.csv"
    with open(products, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["image", "product_id", "product_group", "colour", "category", "name"])
        for article in chosen:
            r = rows[article]
            out.writerow([f"{article}.jpg", article, r["product_code"], r["colour_group_name"],
                          r["product_type_name"], r["prod_name"]])
    return query, products


def cli(*args) -> None:
    subprocess.run([sys.executable, "-m", "fashionsim_desktop", *map(str, args)], check=True, cwd=REPO,
                   stdout=subprocess.DEVNULL)


def save(widget, path: Path) -> None:
    """The window as it is on screen, as an optimised PNG (≤ 1280 pixels wide)."""
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice

    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    widget.grab().toImage().save(buffer, "PNG")
    image = Image.open(BytesIO(bytes(buffer.data()))).convert("RGB")
    if image.width > WIDTH:
        image = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.Resampling.LANCZOS)
    image.save(path, optimize=True)
    print(f"{path} ({path.stat().st_size // 1024} KiB)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--keep", action="store_true", help="keep the temporary catalogue (its path is printed)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="fashionsim-shots-"))
    os.environ["FASHIONSIM_HOME"] = str(work / "home")  # settings, recent folders and logs of their own
    os.environ.setdefault("FASHIONSIM_NO_DIALOGS", "1")
    try:
        folder, catalog = work / "catalogue", work / "catalog"
        folder.mkdir()
        query, products = build_folder(args.shared, folder)
        print(f"indexing {sum(1 for _ in folder.rglob('*.jpg'))} pictures in {folder}", flush=True)
        cli("index", folder, "--catalog", catalog)
        cli("metadata", "import", products, "--catalog", catalog, "--map", "image_key=image",
            "--map", "product_id=product_id", "--map", "product_group=product_group", "--map", "colour=colour",
            "--map", "category=category", "--map", "name=name")
        return shoot(folder, catalog, query, args.out)
    finally:
        if args.keep:
            print(f"catalogue kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def shoot(folder: Path, catalog: Path, query: Path, out: Path) -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    app.setApplicationName("FashionSim Desktop")
    from fashionsim_desktop.ui.app import create_window
    from fashionsim_desktop.ui.models import PAIR_ROLE

    def wait(ms: int, until=None) -> bool:
        # Sleep in Python, not in QTest.qWait: it holds the GIL and starves the app's worker threads.
        end = time.perf_counter() + ms / 1000
        while time.perf_counter() < end:
            app.processEvents()
            if until is not None and until():
                return True
            time.sleep(0.005)
        return until is None

    window = create_window([])

    def look(theme: str) -> None:
        window.settings.setValue("view/theme", theme)
        window.settings.changed.emit()
        wait(300)

    look("light")
    window.resize(WIDTH, HEIGHT)
    window.show()
    if not window.open_folder(folder, catalog):
        raise SystemExit("the window would not open the catalogue")
    wait(180_000, lambda: window.index_worker is None and window.review.model.rowCount() > 0)
    wait(2500)  # the progress panel folds away after a finished run; product data and keepers arrive

    review = window.review

    def row_of(*words: str) -> int:
        pairs = [review.proxy.index(r, 0).data(PAIR_ROLE) for r in range(review.proxy.rowCount())]
        return next((r for r, p in enumerate(pairs) if all(w in p.path_a + p.path_b for w in words)), -1)

    # A curator's first decisions (merged and skipped rows are tinted), none on the query picture's copies.
    query_article = query.stem
    others = [review.proxy.index(r, 0).data(PAIR_ROLE) for r in range(review.proxy.rowCount())]
    others = [p for p in others if query_article not in p.path_a]
    for pair, decide in zip(others[:3], (review.do_merge, review.do_merge, review.do_skip)):
        review.select_proxy_row(row_of(pair.path_a, pair.path_b))
        wait(300)
        decide()
        wait(500)
    # The query picture and its smaller web copy: the keeper starred, the difference in size in the table.
    review.select_proxy_row(max(0, row_of(query.name, f"{query_article}_small")))
    wait(10_000, lambda: all(image is not None for image in review.compare.images))
    wait(800)
    save(window, out / "review-light.png")
    look("dark")
    wait(800)
    save(window, out / "review-dark.png")
    look("light")

    window.tabs.setCurrentWidget(window.groups)
    groups = window.groups
    wait(10_000, lambda: groups.group_model.rowCount() > 0)
    hoodie = next((r for r, group in enumerate(groups.groups)
                   if any(query.stem in p.path_a + p.path_b for p in group)), 0)
    groups.group_list.setCurrentIndex(groups.group_model.index(hoodie, 0))
    wait(15_000, lambda: bool(groups.member_model.items)
         and all(item.get("icon") for item in groups.member_model.items))
    # The original packshot made the keeper by hand ([*]): it is what the shop should keep.
    original = next((r for r, item in enumerate(groups.member_model.items)
                     if item["path"].startswith("packshots") and item["path"].endswith(query.name)), None)
    if original is not None:
        groups.members.setCurrentIndex(groups.member_model.index(original))
        groups.make_keeper()
        wait(10_000, lambda: "your choice" in groups.keeper_label.text() or "★" in str(
            groups.member_model.items[original].get("name", "")))
        groups.members.clearSelection()
    wait(1500)  # the strips' thumbnails and the summary, worked out in the background
    save(window, out / "groups.png")

    search = window.search
    sha = next(f["sha256"] for raw, f in window.session.files.items() if f["path"] == str(query.relative_to(folder)))
    window.find_similar(sha, query.name)
    wait(60_000, lambda: search.model.items and search.query_preview.pixmap() is not None
         and not search.query_preview.pixmap().isNull())
    wait(20_000, lambda: all(item.get("icon") for item in search.model.items))
    search.grid.clearSelection()  # the pictures in their own colours, not tinted by the selection
    wait(500)
    save(window, out / "search-grouped.png")
    print("search:", search.query_label.text())
    print("results:", [item["group"] for item in search.model.items])

    # The catalogue at a larger Thumbnail size (Settings), loaded again at that size.
    window.settings.setValue("view/thumbnail_size", 256)
    window.settings.changed.emit()
    browser = window.browser
    window.tabs.setCurrentWidget(browser)
    wait(30_000, lambda: bool(browser.model.items) and all(
        item.get("icon") and max(item["icon"].actualSize(browser.grid.iconSize()).toTuple()) >= 256
        for item in browser.model.items[:8]))
    wait(500)
    save(window, out / "catalogue-large-thumbnails.png")

    window.close()
    wait(300)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
