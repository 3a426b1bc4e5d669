"""Groups: the proposed pairs joined into groups, worked through in bulk, with the keeper starred.

A group is a connected set of proposed pairs that never joins pictures the curator kept apart (a "keep",
also one below the current threshold, or a picture split off). "Merge whole group" approves every pair in it
as one undo step; "Split off" marks the selected picture as different from the rest;
"Make keeper" chooses which picture the others merge into. The summary shows what an export would do.

The summary and the suggested keeper come from the keeper policy, which decodes and compares pictures: both are
worked out in workers (CatalogSession.merged_async / keepers_async) and shown when they arrive; an answer to an
older question is dropped.

Each group in the list shows a strip of its pictures (group_strip.py); thumbnails, there and in the members' grid,
follow the Thumbnail size setting (`set_thumbnail_size`).
"""
from __future__ import annotations

import html
import os
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListView, QPushButton, QSplitter, QVBoxLayout, QWidget)

from ..core.export import summary
from ..core.keeper import chosen_reason
from ..core.review import KEEP, MERGE, Member, Pair, candidate_groups, chosen_keeper, member_of
from .group_strip import PATHS_ROLE, GroupStripDelegate, strip_thumbnail_height
from .keeper_dialog import reason_text
from .models import ThumbnailListModel, product_caption, thumbnail_grid
from .thumbnails import ThumbnailStore, load_side

THUMB = 160  # until the window applies the setting


class GroupsTab(QWidget):
    statusMessage = Signal(str)
    findSimilar = Signal(str, str)
    decided = Signal()  # decisions were made here: the review queue shows them
    applyPolicyRequested = Signal()  # "Apply keeper policy to every group…": the window previews and applies
    policyRequested = Signal()  # "Keeper policy…": the window's dialog

    def __init__(self, parent=None):
        super().__init__(parent)
        self.session = None
        self.groups: list[list[Pair]] = []
        # Worked out when the tab is shown: grouping every pair of a large catalogue takes seconds, which the
        # window's opening (on the review tab) should not wait for.
        self._stale = False
        self.merged: list = []  # merge groups (decided), read once per change, not on every click
        self._merged_asked = 0  # the latest summary question; older answers are dropped
        self.suggested: dict[tuple, object] = {}  # members' raw paths -> KeeperChoice, from a worker
        self._asked: set[tuple] = set()
        self._keeper_epoch = 0  # bumped when suggestions go stale: answers to older questions are dropped
        self.shown_members: list[Member] = []
        self.summary_label = QLabel(self)
        self.summary_label.setObjectName("groups_summary")
        self.group_model = QStandardItemModel(self)
        self.thumb = THUMB
        self._members_asked = 0
        self.group_list = QListView(self)
        self.group_list.setModel(self.group_model)
        self.group_list.setUniformItemSizes(True)
        self.strip_thumbnails = ThumbnailStore(lambda: self.session, self)
        self.strip_thumbnails.arrived.connect(self.group_list.viewport().update)
        self.strip = GroupStripDelegate(self.group_list, self.strip_thumbnails)
        self.group_list.setItemDelegate(self.strip)
        self._configure_strip()
        self.group_list.selectionModel().currentChanged.connect(lambda *_: self._show_group())
        self.member_model = ThumbnailListModel(self, THUMB)
        self.members = thumbnail_grid(self, self.member_model, THUMB, caption_height=78)
        self.keeper_label = QLabel(self)  # which picture stays, and why, under the member strip
        self.keeper_label.setObjectName("keeper_reason")
        self.keeper_label.setWordWrap(True)
        self.keeper_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

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
        self.apply_policy_button = QPushButton("Apply keeper policy to every group…", self)
        self.apply_policy_button.clicked.connect(self.applyPolicyRequested)
        self.policy_button = QPushButton("Keeper policy…", self)
        self.policy_button.clicked.connect(self.policyRequested)
        buttons = QHBoxLayout()
        for b in (self.merge_button, self.split_button, self.keeper_button, self.similar_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.apply_policy_button)
        buttons.addWidget(self.policy_button)
        right = QWidget(self)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addLayout(buttons)
        rl.addWidget(self.members, 1)
        rl.addWidget(self.keeper_label)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.group_list)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([340, 1100])
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary_label)
        layout.addWidget(splitter, 1)

    def set_thumbnail_size(self, size: int) -> None:
        """The Thumbnail size setting: the members' grid at that size, the strips a little smaller."""
        self.thumb = size
        self.members.set_thumbnail_size(size)
        self.strip.thumb_height = strip_thumbnail_height(size)
        self._configure_strip()
        self.group_list.doItemsLayout()  # rows of a new height
        self._show_group()  # the members again, loaded at the new size

    def _configure_strip(self) -> None:
        self.strip_thumbnails.configure(load_side(self.strip.thumb_height, self), self.devicePixelRatioF())

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._configure_strip()  # the screen's pixel ratio is known once shown

    def setVisible(self, visible: bool) -> None:
        super().setVisible(visible)  # the tab widget shows its current page this way, window shown or not
        if visible and self._stale:
            self.refresh()

    def set_session(self, session) -> None:
        self.session = session
        self.merged = []
        self._forget_keepers()
        if session is not None:
            session.pairsChanged.connect(self._forget_keepers)  # files or product data may have changed
            session.keepersChanged.connect(self._keepers_changed)
        self.refresh()

    def _forget_keepers(self) -> None:
        self.suggested, self._asked = {}, set()
        self._keeper_epoch += 1

    def _keepers_changed(self) -> None:
        self._forget_keepers()
        self.refresh()

    # -- content ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        if self.isHidden() and self.session is not None:  # another tab is current: worked out when shown
            self._stale = True
            return
        self._stale = False
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
            raws = sorted({x for p in group for x in (p.raw_a, p.raw_b)})
            item.setData([self.session.abs_path(raw) for raw in raws], PATHS_ROLE)
            self.group_model.appendRow(item)
        self._update_summary()
        if self.groups:
            row = max(0, min(current, len(self.groups) - 1))
            self.group_list.setCurrentIndex(self.group_model.index(row, 0))
        self._show_group()

    def _update_summary(self) -> None:
        """Re-read the decided merge groups (used by the keeper marks too) in a worker; show what an export would
        do when they arrive."""
        self._merged_asked += 1
        if self.session is None:
            self.merged = []
            self.summary_label.setText("")
            return
        self.summary_label.setText(f"<b>Export would merge:</b> working it out…  "
                                   f"Proposed groups to review: {len(self.groups)}")
        asked = self._merged_asked
        self.session.merged_async(lambda merged: asked == self._merged_asked and self._merged_found(merged))

    def _merged_found(self, merged: list) -> None:
        self.merged = merged
        s = summary(merged)
        self.summary_label.setText(
            f"<b>Export would merge:</b> {s['groups']} groups · {s['duplicates']} duplicates · "
            f"{s['bytes_freed'] / 1e6:.1f} MB freed.  Proposed groups to review: {len(self.groups)}")
        self._mark_keeper()  # a merged group's keeper is the one the export uses

    def current_group(self) -> Optional[list[Pair]]:
        row = self.group_list.currentIndex().row()
        return self.groups[row] if 0 <= row < len(self.groups) else None

    def _keeper(self, members: list[Member]) -> Optional[tuple[bytes, str]]:
        """(raw path, reason) of the file the others would merge into, by the core's one keeper policy; None while
        a worker works it out."""
        if not members:
            return None
        catalog = self.session.catalog
        chosen = chosen_keeper(members, catalog.keepers(), catalog.keeper_files())  # no pictures decoded
        if chosen is not None:
            return chosen.path_raw, chosen_reason(chosen)
        for g in self.merged:  # already merged: the keeper the export would use
            if any(m.path_raw == g.keeper.path_raw for m in members):
                return g.keeper.path_raw, g.keeper_reason
        key = tuple(m.path_raw for m in members)
        if key in self.suggested:
            choice = self.suggested[key]
            return choice.keeper.path_raw, choice.reason
        if key not in self._asked:
            self._asked.add(key)
            epoch = self._keeper_epoch
            self.session.keepers_async({key: members}, lambda choices: self._keepers_found(epoch, choices))
        return None

    def _keepers_found(self, epoch: int, choices: dict) -> None:
        if epoch != self._keeper_epoch:
            return  # asked before the policy, a keeper or the files changed
        self.suggested.update(choices)
        self._mark_keeper()

    def _show_group(self) -> None:
        group = self.current_group()
        if group is None or self.session is None:
            self.shown_members = []
            self.member_model.set_items([])
            self.keeper_label.setText("")
            return
        files = self.session.files
        raws = {p.raw_a for p in group} | {p.raw_b for p in group}
        members = sorted((member_of(files[raw]) for raw in raws if raw in files), key=lambda m: (m.path, m.path_raw))
        self.shown_members = members
        items = []
        for m in members:
            product = product_caption(self.session.products.get(m.sha256, []), m.sha256 in self.session.shared)
            items.append({"path": m.path, "path_raw": m.path_raw, "abs_path": self.session.abs_path(m.path_raw),
                          "sha256": m.sha256, "name": f"{os.path.basename(m.path)}\n{m.width}×{m.height}"
                                                      + (f"\n{product}" if product else "")})
        self._mark_keeper(items)
        self.member_model.set_items(items)
        self._members_asked += 1  # pictures asked for an earlier group or size are dropped when they arrive
        asked = self._members_asked
        self.session.load_images([i["abs_path"] for i in items], lambda images: asked == self._members_asked
                                 and self.member_model.set_thumbnails(images), max_side=load_side(self.thumb, self))

    def _mark_keeper(self, items: Optional[list[dict]] = None) -> None:
        """Star the keeper (this file only, not its byte copies) and say why under the strip."""
        if self.session is None:
            return
        found = self._keeper(self.shown_members)
        keeper_raw = found[0] if found else None
        for item in self.member_model.items if items is None else items:
            item["caption"] = ("★ keeper\n" if item["path_raw"] == keeper_raw else "") + item["name"]
        if items is None and self.member_model.items:
            self.member_model.dataChanged.emit(self.member_model.index(0),
                                               self.member_model.index(len(self.member_model.items) - 1))
        if not self.shown_members:
            self.keeper_label.setText("")
        elif found is None:
            self.keeper_label.setText("Keeper: working it out (comparing the pictures)…")
        else:
            name = next(os.path.basename(m.path) for m in self.shown_members if m.path_raw == keeper_raw)
            self.keeper_label.setText(f"<b>Keeper:</b> {html.escape(reason_text(found[1], name))}")

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
        self.session.set_keeper(member["sha256"], member["path_raw"])  # keepersChanged: this tab refreshes
        self.statusMessage.emit(f"Keeper: {member['path']} (one undo step: Ctrl+Z)")
