"""Pair review: the queue (filterable, best first), the side-by-side viewer and keyboard-driven decisions.

The suggested keeper (★ and the metadata table's "Suggested keeper" row, with the reason) is the one the export
would use were the two merged: the curator's choice, else the catalogue's keeper policy. The policy compares the
pictures, so it is worked out in a worker for the shown pair and the next few; the star appears when it arrives.
"""
from __future__ import annotations

import datetime
import os
from typing import Optional

from PySide6.QtCore import QEvent, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDoubleSpinBox, QLabel, QSplitter, QTableView,
                               QToolButton, QVBoxLayout, QWidget)

from ..core.review import KEEP, MERGE, SKIP, VARIANT, Pair, member_of
from ..core.tiers import DUPLICATE_TIERS, Tier
from .compare_view import DIFFERENCE, FIT, FLICKER, SAME_SCALE, SIDE_BY_SIDE, CompareView, caption_html
from .filter_bar import FilterBar
from .flow_layout import FlowLayout
from .keeper_dialog import reason_text
from .models import PAIR_ROLE, PairFilterProxy, PairTableModel, product_text
from .pair_queue import PairQueueLook
from .session import CatalogSession

PRELOAD_AHEAD = 3
PRODUCT_ROWS = (("product_id", "Product id"), ("sku", "SKU"), ("product_group", "Product group"),
                ("colour", "Colour"), ("category", "Category"), ("name", "Name"))
STATES = ("", "undecided", "merge", "keep", "skip", "variant")  # the state filter's entries, in order
# The tier filter's entries, in order: (label, tiers shown). Duplicates and variants are separate queues (a
# variant is linked, never merged); similar products are for search (core/search.py), not for a decision.
TIER_CHOICES = (("Duplicates", DUPLICATE_TIERS), ("Identical files", {Tier.EXACT}),
                ("Edited copies", {Tier.DUPLICATE}), ("Variants (other colour or shot)", {Tier.VARIANT}))


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.0f} KB"


def _date(ns: int) -> str:
    return datetime.datetime.fromtimestamp(ns / 1e9).strftime("%Y-%m-%d %H:%M")


def _identity(pair: Optional[Pair]) -> Optional[tuple]:
    """Which two files a pair shows: byte copies share a sha256, so the raw paths tell them apart."""
    return None if pair is None else (pair.sha_a, pair.sha_b, pair.raw_a, pair.raw_b)


class ReviewTab(QWidget):
    statusMessage = Signal(str)
    findSimilar = Signal(str, str)  # sha256, label: search the catalogue for pictures like this one
    undoRequested = Signal()  # the window undoes (Ctrl+Z is window-wide) and refreshes every view

    # (name, label, shortcut) — every action is a button with its shortcut shown, and a key.
    ACTIONS = (("merge", "Merge", "M"), ("keep", "Keep both", "K"), ("variant", "Variant", "V"),
               ("skip", "Skip", "S"),
               ("previous", "Previous", "Left"), ("next", "Next", "Right"), ("undo", "Undo", "Ctrl+Z"),
               ("zoom_in", "Zoom in", "+"), ("zoom_out", "Zoom out", "-"), ("zoom_reset", "Fit", "0"),
               ("swap", "Swap sides", "X"), ("scale", "Same scale / fit", "1"),
               ("flicker", "Flicker", "F"), ("difference", "Difference", "D"),
               ("similar", "Find similar to A", "Ctrl+F"))

    def __init__(self, parent=None):
        super().__init__(parent)
        self.session: Optional[CatalogSession] = None
        self.swapped = False
        self.shown_pair: Optional[Pair] = None
        self.keepers: dict[tuple[bytes, bytes], object] = {}  # (raw_a, raw_b) -> KeeperChoice, from workers
        self._keepers_asked: set[tuple[bytes, bytes]] = set()
        self._keeper_epoch = 0  # bumped when suggestions go stale: answers to older questions are dropped
        self.model = PairTableModel(self)
        self.proxy = PairFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        # Filters
        self.kind_filter = QComboBox(self)
        self.kind_filter.addItems([label for label, _ in TIER_CHOICES])
        self.kind_filter.setToolTip("Duplicates: the same photo (identical files or edited copies). Variants: the "
                                    "same product in another colour or shot, to link with V (never merged).")
        self.state_filter = QComboBox(self)
        self.state_filter.addItems(["All", "Undecided", "Merged", "Kept", "Skipped", "Variants"])
        self.min_score = QDoubleSpinBox(self, decimals=2, minimum=0.0, maximum=1.0, singleStep=0.05, value=0.0)
        self.max_score = QDoubleSpinBox(self, decimals=2, minimum=0.0, maximum=1.0, singleStep=0.05, value=1.0)
        self.filter_bar = FilterBar(self)  # category, colour, product, folder
        self.folder_filter = self.filter_bar.folder
        self.done_label = QLabel(self)
        filters = FlowLayout()  # wraps onto a second line rather than widening the window
        for w in (QLabel("Show:"), self.kind_filter, self.state_filter, QLabel("Score"), self.min_score,
                  QLabel("to"), self.max_score, self.filter_bar):
            filters.addWidget(w)
        filters.addSpacing(24)
        filters.addWidget(self.done_label)
        self.kind_filter.currentIndexChanged.connect(self._filters_changed)
        self.state_filter.currentIndexChanged.connect(self._filters_changed)
        self.min_score.valueChanged.connect(self._filters_changed)
        self.max_score.valueChanged.connect(self._filters_changed)
        self.filter_bar.changed.connect(self._filters_changed)

        # Queue
        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(False)
        self.table.verticalHeader().setVisible(False)
        # Thumbnails, whole file names, row height and column widths that follow the font and screen (pair_queue.py)
        self.queue_look = PairQueueLook(self.table, lambda: self.session)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_current())

        self.compare = CompareView(self)

        # Buttons with visible shortcuts, and the same actions on keys
        self.actions: dict[str, QAction] = {}
        decision_row, view_row = FlowLayout(), FlowLayout()  # they wrap rather than squeeze the queue
        for name, label, key in self.ACTIONS:
            buttons = decision_row if name in ("merge", "keep", "variant", "skip", "previous", "next", "undo") else view_row
            action = QAction(f"{label}", self)
            if name != "undo":  # Ctrl+Z belongs to the window's Edit ▸ Undo; a second one would be ambiguous
                action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.setToolTip(f"{label} ({QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)})")
            action.triggered.connect(getattr(self, f"do_{name}"))
            self.addAction(action)
            self.actions[name] = action
            button = QToolButton(self)
            button.setDefaultAction(action)
            button.setText(f"{label}  [{QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)}]")
            button.setObjectName(f"button_{name}")
            buttons.addWidget(button)
            if name in ("skip", "zoom_reset", "scale"):
                buttons.addSpacing(12)

        right = QWidget(self)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addLayout(decision_row)
        rl.addLayout(view_row)
        rl.addWidget(self.compare, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 5)
        self.layout_restored = False  # True when the window restored the curator's own splitter sizes
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.splitter, 1)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self.layout_restored:  # first show: give the queue 30% and the pictures the rest
            width = max(self.width(), 800)
            self.splitter.setSizes([int(width * 0.3), int(width * 0.7)])
            self.layout_restored = True

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        # The captions' colours (folder, "★ suggested keeper") are worked out from the palette: a new palette
        # (Settings ▸ Palette) writes them again, or they stay in the old palette's colours, unreadable on the new.
        # Later, not now: the children get the new palette after this widget.
        if event.type() == QEvent.Type.PaletteChange:
            QTimer.singleShot(0, self, self._recolour_captions)

    def _recolour_captions(self) -> None:
        if self.shown_pair is not None and self.session is not None:
            self._display(self.shown_pair, *self.compare.images, info_only=True)

    # -- session ---------------------------------------------------------------------------------
    def set_session(self, session: Optional[CatalogSession]) -> None:
        self.session = session
        self.shown_pair = None
        self.compare.clear()
        self._set_products()
        self._forget_keepers()
        self.model.set_pairs(self._queue())
        if session:
            session.pairsChanged.connect(self.reload)
            session.keepersChanged.connect(self._keepers_changed)
        self._update_done()
        self.select_proxy_row(self._first_undecided_row())

    def reload(self) -> None:
        current = self.current_pair()
        self._forget_keepers()  # files or product data may have changed
        self._set_products()
        self.model.set_pairs(self._queue())
        self._update_done()
        row = self._proxy_row_of(current) if current else None
        self.select_proxy_row(row if row is not None else self._first_undecided_row())

    def show_decisions(self) -> None:
        """After decisions made elsewhere in this window (a bulk merge, a group): show them, keep the place."""
        self.shown_pair = None  # the metadata table's decision row changed too
        self.reload()

    def _set_products(self) -> None:
        products = self.session.products if self.session else {}
        self.filter_bar.blockSignals(True)  # the reload that follows re-filters anyway
        self.filter_bar.set_choices(self.session)
        self.filter_bar.blockSignals(False)
        self.proxy.set_filters(products_filter=self.filter_bar.value(), products=products)

    # -- queue navigation ------------------------------------------------------------------------
    def current_pair(self) -> Optional[Pair]:
        index = self.table.currentIndex()
        return self.proxy.data(index, PAIR_ROLE) if index.isValid() else None

    def current_proxy_row(self) -> int:
        index = self.table.currentIndex()
        return index.row() if index.isValid() else -1

    def _first_undecided_row(self) -> int:
        for r in range(self.proxy.rowCount()):
            if not self.proxy.data(self.proxy.index(r, 0), PAIR_ROLE).decision:
                return r
        return 0

    def _proxy_row_of(self, pair: Pair) -> Optional[int]:
        """The row showing this pair of files, also after a reload made new Pair objects."""
        wanted = _identity(pair)
        for r in range(self.proxy.rowCount()):
            if _identity(self.proxy.data(self.proxy.index(r, 0), PAIR_ROLE)) == wanted:
                return r
        return None

    def select_proxy_row(self, row: int) -> None:
        count = self.proxy.rowCount()
        if count == 0:
            self.table.setCurrentIndex(self.proxy.index(-1, -1))
            self.shown_pair = None
            self.compare.clear()
            self.compare.captions[0].setText(self._empty_message())
            return
        row = max(0, min(row, count - 1))
        index = self.proxy.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)
        self._show_current()

    def _queue(self) -> list[Pair]:
        """The session's pairs this queue shows: the variants, or the duplicates."""
        if self.session is None:
            return []
        return self.session.variant_pairs if self._showing_variants() else self.session.pairs

    def _showing_variants(self) -> bool:
        return Tier.VARIANT in TIER_CHOICES[self.kind_filter.currentIndex()][1]

    def _filters_changed(self) -> None:
        if self.session is not None and (self.model.pairs is self.session.variant_pairs) != self._showing_variants():
            self.model.set_pairs(self._queue())  # the other queue
            self._update_done()
        current = self.current_pair()
        self.proxy.set_filters(tiers=TIER_CHOICES[self.kind_filter.currentIndex()][1],
                               state=STATES[self.state_filter.currentIndex()],
                               min_score=self.min_score.value(), max_score=self.max_score.value(),
                               products_filter=self.filter_bar.value())
        row = self._proxy_row_of(current) if current else None
        self.select_proxy_row(row if row is not None else 0)

    def _update_done(self) -> None:
        decided, total = self.model.counts()
        skipped = self.model.skipped()
        self.done_label.setText(f"{decided} of {total} pairs decided" + (f" ({skipped} skipped)" if skipped else ""))

    def _empty_message(self) -> str:
        if self.session is None:
            return ""
        if self.model.rowCount() == 0:
            return ("<b>No duplicate pairs yet.</b> Pairs appear here when indexing finishes; "
                    "if it has finished, no two pictures look like copies of each other.")
        return "<b>No pair matches the filters.</b> Change the filters above to see more."

    # -- showing a pair --------------------------------------------------------------------------
    def _sides(self, pair: Pair) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
        """(display path, raw path) of the left and the right picture."""
        a, b = (pair.path_a, pair.raw_a), (pair.path_b, pair.raw_b)
        return (b, a) if self.swapped else (a, b)

    def _show_current(self) -> None:
        pair = self.current_pair()
        if pair is None or self.session is None:
            return
        if pair is self.shown_pair and self.compare.images[0] is not None:
            return
        self.shown_pair = pair
        (_, raw_a), (_, raw_b) = self._sides(pair)
        paths = [self.session.abs_path(raw_a), self.session.abs_path(raw_b)]
        cached = [self.session.cache.peek(p) for p in paths]
        if all(c is not None for c in cached):
            self._display(pair, cached[0], cached[1])
        else:
            self._display(pair, None, None)  # captions and metadata at once; pictures when loaded
            self.session.load_images(paths, lambda images, pair=pair, paths=paths: self._loaded(pair, paths, images))
        self._preload_after(self.current_proxy_row())

    def _loaded(self, pair: Pair, paths: list[str], images: dict) -> None:
        if pair is self.shown_pair:
            self._display(pair, images.get(paths[0]), images.get(paths[1]))

    def _preload_after(self, row: int) -> None:
        paths, pairs = [], []
        for r in range(row + 1, min(row + 1 + PRELOAD_AHEAD, self.proxy.rowCount())):
            p = self.proxy.data(self.proxy.index(r, 0), PAIR_ROLE)
            paths += [self.session.abs_path(p.raw_a), self.session.abs_path(p.raw_b)]
            pairs.append(p)
        if paths:
            self.session.load_images(paths)
        self._ask_keepers(pairs)  # their stars are ready when the curator gets there

    # -- suggested keepers -----------------------------------------------------------------------
    def _forget_keepers(self) -> None:
        self.keepers, self._keepers_asked = {}, set()
        self._keeper_epoch += 1

    def _keepers_changed(self) -> None:
        self._forget_keepers()
        self.shown_pair = None
        self._show_current()

    def _ask_keepers(self, pairs: list[Pair]) -> None:
        """Work out the keeper of pairs not known or asked for yet, in one worker."""
        files = self.session.files
        wanted = {}
        for p in pairs:
            key = (p.raw_a, p.raw_b)
            if key not in self.keepers and key not in self._keepers_asked and p.raw_a in files and p.raw_b in files:
                wanted[key] = [member_of(files[p.raw_a]), member_of(files[p.raw_b])]
        if wanted:
            self._keepers_asked |= set(wanted)
            epoch = self._keeper_epoch
            self.session.keepers_async(wanted, lambda choices: self._keepers_found(epoch, choices))

    def _keepers_found(self, epoch: int, choices: dict) -> None:
        if epoch != self._keeper_epoch:
            return
        self.keepers.update(choices)
        pair = self.shown_pair
        if pair is not None and (pair.raw_a, pair.raw_b) in choices:
            self._display(pair, *self.compare.images, info_only=True)

    def _display(self, pair: Pair, image_a, image_b, info_only: bool = False) -> None:
        """Show the pair's pictures, captions and metadata (`info_only`: the pictures shown stay as they are)."""
        (a, raw_a), (b, raw_b) = self._sides(pair)
        fa, fb = self.session.files.get(raw_a, {}), self.session.files.get(raw_b, {})
        choice = self.keepers.get((pair.raw_a, pair.raw_b))
        if choice is None:
            self._ask_keepers([pair])
        keeper = None if choice is None else (0 if choice.keeper.path_raw == raw_a else 1)
        captions = []
        for side, (path, f) in enumerate(((a, fa), (b, fb))):
            star = ("★ keeper (your choice)" if choice.chosen else "★ suggested keeper") if keeper == side else ""
            captions.append(caption_html(self.compare.palette(), "AB"[side], os.path.basename(path),
                                         os.path.dirname(path) or ".", star))
        if choice is None:
            keeper_row = ("Suggested keeper", "working it out (comparing the pictures)…", "")
        else:
            name = os.path.basename(a if keeper == 0 else b)
            keeper_row = ("Keeper" if choice.chosen else "Suggested keeper", reason_text(choice.reason, name), "")
        # The keeper and product data first: what a catalogue curator decides by, visible without scrolling.
        rows = [keeper_row] + self._product_rows(fa.get("sha256"), fb.get("sha256")) + [
            ("Resolution", f"{fa.get('width', '?')} × {fa.get('height', '?')}",
             f"{fb.get('width', '?')} × {fb.get('height', '?')}"),
            ("File size", _size(fa.get("size", 0)), _size(fb.get("size", 0))),
            ("Format", fa.get("format", "?"), fb.get("format", "?")),
            ("Modified", _date(fa.get("mtime_ns", 0)), _date(fb.get("mtime_ns", 0))),
            ("Folder", os.path.dirname(a) or ".", os.path.dirname(b) or "."),
            ("Duplicate score", f"{pair.score:.3f}", ""),
        ]
        rows.append(("Decision", pair.decision or "undecided", ""))
        self.compare.set_evidence(f"{pair.tier.label}: {pair.summary}", pair.evidence)  # numbers in its Details
        if info_only:
            self.compare.set_info(tuple(captions), rows)
        else:
            self.compare.show_pair(image_a, image_b, tuple(captions), rows, bool(pair.evidence.get("mirrored")))

    def _product_rows(self, sha_a: Optional[str], sha_b: Optional[str]) -> list[tuple[str, str, str]]:
        """Both sides' product data from the catalogue system (loaded with the session), when either has some."""
        infos_a, infos_b = self.session.products.get(sha_a, []), self.session.products.get(sha_b, [])
        if not infos_a and not infos_b:
            return []
        rows = [(label, product_text(infos_a, field), product_text(infos_b, field)) for field, label in PRODUCT_ROWS]
        shared = [sha in self.session.shared for sha in (sha_a, sha_b)]
        if any(shared):  # one photo used by several products: merging it away may leave one without a photo
            rows.append(("Shared photo", *("shared photo" if s else "no" for s in shared)))
        return rows

    # -- actions ---------------------------------------------------------------------------------
    def _decide(self, decision: Optional[str]) -> None:
        pair = self.current_pair()
        if pair is None or self.session is None:
            return
        row = self.current_proxy_row()
        self.session.decide(pair, decision)  # committed to disk before we move on
        for r in self.model.rows_for_shas(pair.sha_a, pair.sha_b):
            self.model.set_decision(r, decision)
        self.proxy.refilter()
        self._update_done()
        still_there = self._proxy_row_of(pair)
        self.select_proxy_row(row + 1 if still_there is not None else row)
        self.statusMessage.emit(f"Saved: {decision or 'undecided'} — {pair.path_a} / {pair.path_b}")

    def do_merge(self) -> None:
        self._decide(MERGE)

    def do_keep(self) -> None:
        self._decide(KEEP)

    def do_variant(self) -> None:
        """The same product in another colour or shot: linked into a variant group, never merged."""
        pair = self.current_pair()
        if pair is not None and pair.sha_a == pair.sha_b:
            self.statusMessage.emit("These two files are the same bytes: merge them, or keep both.")
            return
        self._decide(VARIANT)

    def do_skip(self) -> None:
        self._decide(SKIP)  # remembered: the next undecided pair is another one, also after a restart

    def do_next(self) -> None:
        self.select_proxy_row(self.current_proxy_row() + 1)

    def do_previous(self) -> None:
        self.select_proxy_row(max(0, self.current_proxy_row() - 1))

    def do_undo(self) -> None:
        self.undoRequested.emit()

    def show_undone(self, undone: list[dict]) -> None:
        """After the session undid steps: show the restored decisions and go to the pair undone."""
        target = None
        for step in undone:
            for r in self.model.rows_for_shas(step["sha_a"], step["sha_b"]):
                self.model.set_decision(r, step["restored"])
                target = self.model.pairs[r]
        self.proxy.refilter()
        self._update_done()
        row = self._proxy_row_of(target) if target is not None else None
        if row is not None:
            self.shown_pair = None
            self.select_proxy_row(row)

    def do_zoom_in(self) -> None:
        self.compare.zoom_by(1.25)

    def do_zoom_out(self) -> None:
        self.compare.zoom_by(0.8)

    def do_zoom_reset(self) -> None:
        self.compare.reset_zoom()

    def do_swap(self) -> None:
        self.swapped = not self.swapped
        self.shown_pair = None
        self._show_current()

    def do_scale(self) -> None:
        self.compare.set_mode(SAME_SCALE if self.compare.mode == FIT else FIT)

    def do_flicker(self) -> None:
        self.compare.set_display(SIDE_BY_SIDE if self.compare.display == FLICKER else FLICKER)

    def do_similar(self) -> None:
        pair = self.current_pair()
        if pair is not None:
            path = self._sides(pair)[0][0]
            sha = pair.sha_b if self.swapped else pair.sha_a
            self.findSimilar.emit(sha, os.path.basename(path))

    def do_difference(self) -> None:
        self.compare.set_display(SIDE_BY_SIDE if self.compare.display == DIFFERENCE else DIFFERENCE)
