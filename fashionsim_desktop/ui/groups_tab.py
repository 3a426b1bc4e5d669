"""Groups: the proposed pairs joined into groups, worked through in bulk, with the keeper starred.

A group is a connected set of proposed pairs that never joins pictures the curator kept apart (a "keep",
also one below the current threshold, or a picture split off). "Merge whole group" approves every pair in it
as one undo step; "Split off" marks the selected picture as different from the rest;
"Make keeper" chooses which picture the others merge into. The summary shows what an export would do.
"""
from __future__ import annotations

import os
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListView, QPushButton, QSplitter, QVBoxLayout, QWidget)

from ..core.export import summary
from ..core.review import (KEEP, MERGE, Member, Pair, candidate_groups, chosen_keeper, member_of, merge_groups,
                           suggest_keeper)
from .models import ThumbnailListModel, product_caption, thumbnail_grid

THUMB = 160


class GroupsTab(QWidget):
    statusMessage = Signal(str)
    findSimilar = Signal(str, str)
    decided = Signal()  # decisions were made here: the review queue shows them

    def __init__(self, parent=None):
        super().__init__(parent)
        self.session = None
        self.groups: list[list[Pair]] = []
        self.merged: list = []  # merge groups (decided), read once per change, not on every click
        self.summary_label = QLabel(self)
        self.summary_label.setObjectName("groups_summary")
        self.group_model = QStandardItemModel(self)
        self.group_list = QListView(self)
        self.group_list.setModel(self.group_model)
        self.group_list.selectionModel().currentChanged.connect(lambda *_: self._show_group())
        self.member_model = ThumbnailListModel(self, THUMB)
        self.members = thumbnail_grid(self, self.member_model, THUMB, caption_height=78)

        self.merge_button = QPushButton("Merge whole group  [G]", self)
        self.split_button = QPushButton("Split off selected  [Del]", self)
        self.keeper_button = QPushButton("Make keeper  [*]", self)
        self.similar_button = QPushButton("Find similar", self)
        self.similar_button.clicked.connect(self.find_similar)
        for button, slot, key in ((self.merge_button, self.merge_group, "G"),
                                  (self.split_button, self.split_off, "Del"),
                                  (self.keeper_button, self.make_keeper, "*")):
            button.clicked.connect(slot)
            action = QAction(self)
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
        buttons = QHBoxLayout()
        for b in (self.merge_button, self.split_button, self.keeper_button, self.similar_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        right = QWidget(self)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addLayout(buttons)
        rl.addWidget(self.members, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.group_list)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([340, 1100])
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary_label)
        layout.addWidget(splitter, 1)

    def set_session(self, session) -> None:
        self.session = session
        self.refresh()

    # -- content ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        current = self.group_list.currentIndex().row()
        self.groups = candidate_groups(self.session.pairs, self.session.kept_apart()) if self.session else []
        self.group_model.clear()
        for number, group in enumerate(self.groups, start=1):
            merged = sum(1 for p in group if p.decision == MERGE)
            pictures = len({x for p in group for x in (p.raw_a, p.raw_b)})
            text = (f"{number}. {pictures} pictures · best {max(p.score for p in group):.2f}"
                    f" · {merged}/{len(group)} merged")
            item = QStandardItem(text)
            item.setEditable(False)
            self.group_model.appendRow(item)
        self._update_summary()
        if self.groups:
            row = max(0, min(current, len(self.groups) - 1))
            self.group_list.setCurrentIndex(self.group_model.index(row, 0))
        self._show_group()

    def _update_summary(self) -> None:
        """Re-read the decided merge groups (used by the keeper marks too) and show what an export would do."""
        if self.session is None:
            self.merged = []
            self.summary_label.setText("")
            return
        self.merged = merge_groups(self.session.catalog, list(self.session.files.values()), with_scores=False)
        s = summary(self.merged)
        self.summary_label.setText(
            f"<b>Export would merge:</b> {s['groups']} groups · {s['duplicates']} duplicates · "
            f"{s['bytes_freed'] / 1e6:.1f} MB freed.  Proposed groups to review: {len(self.groups)}")

    def current_group(self) -> Optional[list[Pair]]:
        row = self.group_list.currentIndex().row()
        return self.groups[row] if 0 <= row < len(self.groups) else None

    def _keeper(self, members: list[Member]) -> Optional[bytes]:
        """The raw path of the file the others would merge into, by the core's one keeper policy."""
        if not members:
            return None
        catalog = self.session.catalog
        chosen = chosen_keeper(members, catalog.keepers(), catalog.keeper_files())
        if chosen is not None:
            return chosen.path_raw
        for g in self.merged:  # already merged: the keeper the export would use
            if any(m.path_raw == g.keeper.path_raw for m in members):
                return g.keeper.path_raw
        return suggest_keeper(members).path_raw

    def _show_group(self) -> None:
        group = self.current_group()
        if group is None or self.session is None:
            self.member_model.set_items([])
            return
        files = self.session.files
        raws = {p.raw_a for p in group} | {p.raw_b for p in group}
        members = sorted((member_of(files[raw]) for raw in raws if raw in files), key=lambda m: (m.path, m.path_raw))
        keeper = self._keeper(members)
        items = []
        for m in members:
            star = "★ keeper\n" if m.path_raw == keeper else ""  # this file only, not its byte copies
            product = product_caption(self.session.products.get(m.sha256, []), m.sha256 in self.session.shared)
            items.append({"path": m.path, "path_raw": m.path_raw, "abs_path": self.session.abs_path(m.path_raw),
                          "sha256": m.sha256, "caption": f"{star}{os.path.basename(m.path)}\n{m.width}×{m.height}"
                                                         + (f"\n{product}" if product else "")})
        self.member_model.set_items(items)
        self.session.load_images([i["abs_path"] for i in items], self.member_model.set_thumbnails, max_side=THUMB)

    def selected_member(self) -> Optional[dict]:
        return self.member_model.item(self.members.currentIndex())

    # -- actions ---------------------------------------------------------------------------------
    def merge_group(self) -> None:
        group = self.current_group()
        if not group:
            return
        # The core's plan leaves out any pair that would join pictures kept apart (decided since the groups
        # were drawn, or through merges made elsewhere).
        plan = self.session.plan_merge(group)
        changed = self.session.apply_plan(plan)
        left_out = f"; {plan.kept_apart} left out: they would join pictures kept apart" if plan.kept_apart else ""
        self.statusMessage.emit(f"Merged a group of {changed} pairs (one undo step){left_out}")
        self.refresh()
        self.decided.emit()

    def split_off(self) -> None:
        group, member = self.current_group(), self.selected_member()
        if not group or not member:
            return
        touching = [p for p in group if member["sha256"] in (p.sha_a, p.sha_b)]
        self.session.decide_many(touching, KEEP)
        self.statusMessage.emit(f"{member['path']} split off: marked different from {len(touching)} pictures")
        self.refresh()
        self.decided.emit()

    def find_similar(self) -> None:
        member = self.selected_member()
        if member:
            self.findSimilar.emit(member["sha256"], os.path.basename(member["path"]))

    def make_keeper(self) -> None:
        member = self.selected_member()
        if not member:
            return
        self.session.set_keeper(member["sha256"], member["path_raw"])
        self.statusMessage.emit(f"Keeper: {member['path']}")
        self._update_summary()
        self._show_group()
