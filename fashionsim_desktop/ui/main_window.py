"""The main window: open a catalogue folder, index it in the background, review, search, browse, import
product data, decide in bulk, set and apply the keeper policy, check a new shoot, export.

Questions and previews go through `ask(dialog)`: a test sets `answer_hook` to read the real dialog and answer
it, instead of a modal loop nobody can click in."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QAction, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import (QDialog, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QPushButton,
                               QStackedWidget, QTabWidget, QVBoxLayout, QWidget)

from ..cli import sample_catalog_folder
from ..core.errors import FashionSimError
from ..core.export import ExportError, TargetExists, export_merges, summary
from ..core.indexer import Indexer
from ..core.scan import IMAGE_EXTENSIONS
from ..core.tiers import Tier
from ..store.catalog import Catalog
from .browser_tab import BrowserTab
from .bulk_dialog import BulkDialog, score_question
from .errors_tab import ErrorsTab
from .groups_tab import GroupsTab
from .images import ImageCache
from .import_dialog import ImportDialog
from .intake_dialog import IntakeDialog
from .keeper_dialog import KeeperPlanDialog, KeeperPolicyDialog
from .progress_panel import ProgressPanel
from .review_tab import ReviewTab
from .search_tab import SearchTab
from .session import CatalogSession
from .settings import AppSettings, SettingsDialog
from .workers import Worker, WorkerPool

log = logging.getLogger(__name__)
CHANGE_POLL_MS = 1000  # how often the window looks for commits by other processes (the CLI, another window)
BULK_MIN_SCORE = 0.9  # offered first when merging duplicates by score: well above the proposal threshold


def _is_image_file(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.pool = WorkerPool(threads=4, parent=self)
        self.cache = ImageCache()
        self.session: Optional[CatalogSession] = None
        self.index_worker: Optional[Worker] = None
        self._seen_version: Optional[int] = None  # the catalogue's data_version the shown data includes
        self._files_seen: dict[bytes, str] = {}
        self.answer_hook: Optional[Callable[[QWidget], bool]] = None  # tests answer dialogs through it
        self.import_dialog: Optional[ImportDialog] = None
        self.intake_dialog: Optional[IntakeDialog] = None
        self._reset_refresh_state()
        self.setWindowTitle("FashionSim Desktop")
        self.setAcceptDrops(True)

        self.welcome = QWidget(self)
        text = QLabel(
            "<h2>FashionSim Desktop</h2><p>Open a folder of product photos to find duplicates:<br>"
            "<b>File ▸ Open Folder…</b> (Ctrl+O), or drag the folder onto this window.</p>"
            "<p>Once it is indexed, drop or paste any picture to find the most similar catalogue pictures.</p>",
            self.welcome)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        open_button = QPushButton("Open Folder…", self.welcome)
        open_button.clicked.connect(self.choose_folder)
        sample_button = QPushButton("Try the sample catalogue", self.welcome)
        sample_button.setObjectName("open_sample")
        sample_button.clicked.connect(lambda: self.open_folder(sample_catalog_folder()))
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(open_button)
        buttons.addWidget(sample_button)
        buttons.addStretch(1)
        welcome_layout = QVBoxLayout(self.welcome)
        welcome_layout.addStretch(1)
        welcome_layout.addWidget(text)
        welcome_layout.addLayout(buttons)
        welcome_layout.addStretch(1)
        self.progress = ProgressPanel(self)
        self.progress.cancelRequested.connect(self.cancel_indexing)
        self.progress.hide()
        self.review = ReviewTab(self)
        self.groups = GroupsTab(self)
        self.browser = BrowserTab(self)
        self.search = SearchTab(self)
        self.errors = ErrorsTab(self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.review, "Review pairs")
        self.tabs.addTab(self.groups, "Groups")
        self.tabs.addTab(self.browser, "Catalogue")
        self.tabs.addTab(self.search, "Visual search")
        self.tabs.addTab(self.errors, "Unreadable files")
        self.tabs.currentChanged.connect(self._tab_changed)
        for tab in (self.review, self.groups, self.browser, self.search):
            tab.statusMessage.connect(lambda text: self.statusBar().showMessage(text, 6000))
        for tab in (self.review, self.groups, self.browser):
            tab.findSimilar.connect(self.find_similar)
        self.review.undoRequested.connect(self.undo)
        self.groups.decided.connect(self.review.show_decisions)
        self.groups.applyPolicyRequested.connect(self.apply_keeper_policy)
        self.groups.policyRequested.connect(self.keeper_policy_dialog)
        # A folder dropped on Visual search is a new shoot to check, not a catalogue to open.
        self.search.dropped.connect(lambda mime: self.handle_mime(mime, check_folders=True))
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.tabs)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.addWidget(self.progress)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self._build_menus()
        self._restore_geometry()
        self.statusBar().showMessage("Ready")
        self.change_timer = QTimer(self)
        self.change_timer.setInterval(CHANGE_POLL_MS)
        self.change_timer.timeout.connect(self._poll_changes)
        self.change_timer.start()

    # -- menus -----------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = self._action(file_menu, "&Open Folder…", "Ctrl+O", self.choose_folder)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self._fill_recent()
        self.rescan_action = self._action(file_menu, "&Rescan Folder", "F5", self.start_indexing)
        self.cancel_action = self._action(file_menu, "&Cancel Indexing", "Ctrl+.", self.cancel_indexing)
        file_menu.addSeparator()
        self.import_action = self._action(file_menu, "&Import Product Data…", "Ctrl+I",
                                          lambda: self.import_product_data())
        self.check_action = self._action(file_menu, "Check a &New Shoot…", "Ctrl+Shift+O",
                                         lambda: self.check_new_shoot())
        file_menu.addSeparator()
        self.export_action = self._action(file_menu, "&Export Merge List…", "Ctrl+E", self.export_dialog)
        file_menu.addSeparator()
        self._action(file_menu, "&Settings…", "Ctrl+,", self.settings_dialog)
        self.policy_action = self._action(file_menu, "&Keeper Policy…", None, lambda: self.keeper_policy_dialog())
        self._action(file_menu, "&Quit", "Ctrl+Q", self.close)
        edit_menu = self.menuBar().addMenu("&Edit")
        # Window-wide, so Ctrl+Z works in every tab; it takes back only this window's own steps.
        self.undo_action = self._action(edit_menu, "&Undo Decision", "Ctrl+Z", self.undo)
        self.paste_action = self._action(edit_menu, "&Paste Picture to Search", "Ctrl+V", self.paste)
        edit_menu.addSeparator()
        self.merge_exact_action = self._action(edit_menu, "Merge Every &Exact Pair…", None,
                                               lambda: self.merge_every_exact_pair())
        self.merge_score_action = self._action(edit_menu, "Merge Every &Duplicate Pair Scoring at Least…", None,
                                               lambda: self.merge_every_duplicate_pair())
        self.apply_policy_action = self._action(edit_menu, "Apply &Keeper Policy to Every Group…", None,
                                                lambda: self.apply_keeper_policy())
        self._update_actions()

    def _action(self, menu, text: str, key: Optional[str], slot) -> QAction:
        action = QAction(text, self)
        if key:
            action.setShortcut(QKeySequence(key))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for folder in self.settings.recent():
            action = self.recent_menu.addAction(folder)
            action.triggered.connect(lambda _=False, f=folder: self.open_folder(Path(f)))
        self.recent_menu.setEnabled(bool(self.settings.recent()))

    def _update_actions(self) -> None:
        indexing = self.index_worker is not None
        self.rescan_action.setEnabled(self.session is not None and not indexing)
        self.cancel_action.setEnabled(indexing)
        for action in (self.export_action, self.import_action, self.merge_exact_action, self.merge_score_action,
                       self.check_action, self.policy_action, self.apply_policy_action):
            action.setEnabled(self.session is not None)

    # -- opening and indexing ----------------------------------------------------------------------
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of product photos")
        if folder:
            self.open_folder(Path(folder))

    def open_folder(self, folder: Path, catalog_dir: Optional[Path] = None) -> bool:
        if not folder.is_dir():
            self.show_error(f"The folder {folder} does not exist or is not a folder.")
            return False
        self.close_session()
        try:
            self.session = CatalogSession(folder, self.pool, self.cache, catalog_dir,
                                          min_score=self.settings.threshold(), parent=self)
            self._seen_version = self.session.catalog.data_version()  # read before the data it covers
            self.session.reload()
        except FashionSimError as exc:
            self.session = None
            self.show_error(str(exc))
            return False
        self._files_seen = self._file_identities()
        self.settings.add_recent(str(self.session.folder))
        self._fill_recent()
        self.setWindowTitle(f"FashionSim Desktop — {self.session.folder}")
        for tab in (self.review, self.groups, self.browser, self.search, self.errors):
            tab.set_session(self.session)
        self.session.backgroundFailed.connect(self.show_error)
        self._update_error_tab_title()
        self.stack.setCurrentWidget(self.tabs)
        self.start_indexing()  # incremental: resumes an interrupted run, picks up changed files
        return True

    def close_session(self) -> None:
        self.cancel_indexing()
        if self.index_worker is not None:
            self.pool.pool.waitForDone(30000)
            self.index_worker = None  # finished now; its queued signals are ignored
            self._update_actions()
        self.search.shutdown()
        if self.intake_dialog is not None:
            self.intake_dialog.reject()  # its check reads this catalogue: stopped with it
            self.intake_dialog = None
        self._reset_refresh_state()
        if self.session is not None:
            self.session.close()
            self.session = None

    def start_indexing(self) -> None:
        if self.session is None or self.index_worker is not None:
            return
        folder, catalog_dir, workers = self.session.folder, self.session.catalog_dir, self.settings.workers()

        def job(progress):
            with Catalog(catalog_dir, root=folder) as catalog:  # this thread's own connection
                return Indexer(folder, catalog, workers=workers).run(progress)

        worker = Worker(job)
        # Signals of a worker replaced since (the folder was closed or reopened) are ignored.
        current = lambda: self.index_worker is worker  # noqa: E731
        worker.signals.progress.connect(lambda status: current() and self.progress.update_status(status))
        worker.signals.result.connect(lambda report: current() and self._indexing_done(report))
        worker.signals.cancelled.connect(lambda: current() and self._indexing_stopped(
            "Cancelled — finished work is kept; Rescan (F5) resumes."))
        worker.signals.failed.connect(lambda message: current() and self._indexing_failed(message))
        worker.signals.finished.connect(lambda: current() and self._indexing_finished())
        self.index_worker = worker
        self.progress.reset()
        self.progress.show()
        self.statusBar().showMessage("Indexing…")
        self._update_actions()
        self.pool.start(worker)

    def cancel_indexing(self) -> None:
        if self.index_worker is not None:
            self.index_worker.cancel()
            self.progress.cancel_button.setEnabled(False)
            self.statusBar().showMessage("Cancelling… (finishing the pictures in progress)")

    def _indexing_done(self, report) -> None:
        def announce():
            decided, total = self.review.model.counts()
            if report.files_new_or_changed or report.files_missing or report.pictures_decoded:
                done = (f"Indexed {report.files_seen} files: {report.pictures_decoded} new or changed pictures "
                        f"read, {report.errors} unreadable.")
            else:  # "0 pictures read" would read like a failure
                done = f"Up to date: {report.files_seen} files checked, none new or changed."
            self.statusBar().showMessage(f"{done} {total - decided} of {total} pairs left to review.", 15000)

        self.search.invalidate_index()  # the next query loads the new index
        self._refresh_all(then=announce)
        QTimer.singleShot(1500, self._hide_progress_if_idle)

    def _hide_progress_if_idle(self) -> None:
        if self.index_worker is None:
            self.progress.hide()

    def _indexing_stopped(self, message: str) -> None:
        self.progress.finish("stopped")
        self.search.invalidate_index()
        self._refresh_all()
        self.statusBar().showMessage(message, 15000)

    def _indexing_failed(self, message: str) -> None:
        self.progress.finish("stopped")
        self.show_error(message)

    def _indexing_finished(self) -> None:
        self.index_worker = None
        self._update_actions()

    def _reset_refresh_state(self) -> None:
        # The running background reload, held here until it ends: the pool lets go of a worker on the first
        # slot of its `finished`, and a worker let go of mid-signal would never reach ours.
        self._reload_worker: Optional[Worker] = None
        self._refresh_again = False  # asked for while it ran: one more reload follows it, if still needed
        self._refresh_forced = False  # ...needed even if the catalogue did not change since (a new threshold)
        self._after_refresh: list[Callable[[], None]] = []

    def _refresh_all(self, then=None, force: bool = False) -> None:
        """Reload pairs, files and errors in the background, then show them (the window never waits).
        At most one reload runs at a time; requests made meanwhile are joined into one more after it, made only
        when the catalogue changed after the running one began (or `force`: what is read changed, not the data)."""
        if self.session is None:
            return
        if then is not None:
            self._after_refresh.append(then)
        if self._reload_worker is not None:
            self._refresh_again = True
            self._refresh_forced |= force
            return
        self._refresh_again = self._refresh_forced = False
        session = self.session
        try:
            self._seen_version = session.catalog.data_version()  # the reload reads at least this much
        except FashionSimError:
            pass
        self._reload_worker = session.reload_async(lambda: self.session is session and self._apply_refresh(),
                                                   done=lambda: self._refresh_finished(session))

    def _refresh_finished(self, session: CatalogSession) -> None:
        if self.session is not session:
            return  # a reload of a closed catalogue
        self._reload_worker = None
        if self._refresh_again and (self._refresh_forced or self._changed_since_seen()):
            self._refresh_all()
            return
        # The reload that just ended already read everything asked for meanwhile (a change noticed by the poll
        # before the import that made it said so): a second one would only replace the shown pairs again.
        self._refresh_again = False
        then, self._after_refresh = self._after_refresh, []
        for callback in then:
            callback()

    def _changed_since_seen(self) -> bool:
        try:
            return self.session.catalog.data_version() != self._seen_version
        except FashionSimError:
            return True

    def _apply_refresh(self) -> None:
        self.groups.refresh()  # the review tab follows the session's pairsChanged
        self.browser.refresh()
        self.search.refresh_products()
        self.errors.refresh()
        files = self._file_identities()
        if files != self._files_seen:  # pictures changed elsewhere (a CLI index run): reload the search index
            self._files_seen = files
            self.search.invalidate_index()
        self._update_error_tab_title()
        then, self._after_refresh = self._after_refresh, []
        for callback in then:
            callback()

    def _file_identities(self) -> dict[bytes, str]:
        return {raw: f["sha256"] for raw, f in self.session.files.items()} if self.session else {}

    def _poll_changes(self) -> None:
        """Notice commits by other processes (one cheap PRAGMA on the UI thread) and show them."""
        if self.session is None or self.index_worker is not None or self._reload_worker is not None:
            return  # indexing ends with a refresh of its own; after a running reload, the next tick looks again
        try:
            version = self.session.catalog.data_version()
        except FashionSimError:
            return  # busy or gone for a moment: look again on the next tick
        if version != self._seen_version:
            self._refresh_all()

    # -- undo ------------------------------------------------------------------------------------
    def undo(self) -> None:
        """Take back this window's latest step (never the CLI's or another window's), shown everywhere at once."""
        if self.session is None:
            return
        undone = self.session.undo()  # an undone keeper choice refreshes the views through keepersChanged
        self.statusBar().showMessage(self.session.undo_message(undone), 8000)
        if undone:
            self.review.show_undone(undone)
            self.groups.refresh()

    # -- bulk decisions --------------------------------------------------------------------------
    def merge_every_exact_pair(self) -> int:
        """Edit ▸ Merge Every Exact Pair…: byte-identical copies, previewed, one undo step."""
        return self._bulk_merge(Tier.EXACT)

    def merge_every_duplicate_pair(self, min_score: Optional[float] = None) -> int:
        """Edit ▸ Merge Every Duplicate Pair Scoring at Least…: asks for the score, previews, one undo step."""
        if self.session is None:
            return 0
        if min_score is None:
            question = score_question(self, max(BULK_MIN_SCORE, self.session.min_score))
            if not self.ask(question):
                return 0
            min_score = question.doubleValue()
        return self._bulk_merge(Tier.DUPLICATE, min_score)

    def _bulk_merge(self, tier: Tier, min_score: Optional[float] = None) -> int:
        if self.session is None:
            return 0
        plan = self.session.plan_merge(tier=tier, min_score=min_score)
        if not self.ask(BulkDialog(plan, self)):
            return 0
        # The session's catalogue has this window's origin: Ctrl+Z here takes the whole step back.
        changed = self.session.apply_plan(plan)
        self.review.show_decisions()
        self.groups.refresh()
        self.statusBar().showMessage(f"Merged {changed} pairs in one step (Ctrl+Z takes it back).", 10000)
        return changed

    # -- the keeper policy -------------------------------------------------------------------------
    def keeper_policy_dialog(self) -> bool:
        """File ▸ Keeper Policy…: edit the catalogue's policy; saved through core/keeper.py, views follow."""
        if self.session is None:
            return False
        dialog = KeeperPolicyDialog(self.session.policy(), self.session.catalog.get_meta("root"), self)
        if not self.ask(dialog):
            return False
        self.session.save_policy(dialog.policy())  # keepersChanged: the review and groups work keepers out again
        self.statusBar().showMessage("Keeper policy saved in the catalogue (the command line and export use it).",
                                     8000)
        return True

    def apply_keeper_policy(self) -> Optional[Worker]:
        """Edit ▸ Apply Keeper Policy to Every Group…: the plan is worked out in a worker (it compares pictures),
        previewed, then applied as one undo step."""
        if self.session is None:
            return None
        session = self.session
        self.statusBar().showMessage("Working out the keeper of every merge group…")
        return session.plan_keepers_async(lambda plan: self.session is session and self._preview_keepers(plan))

    def _preview_keepers(self, plan) -> None:
        self.statusBar().clearMessage()
        if not self.ask(KeeperPlanDialog(plan, self)):
            return
        changed = self.session.apply_keepers(plan)  # this window's origin: Ctrl+Z takes the step back
        self.statusBar().showMessage(f"Fixed the keeper of {changed} groups in one step (Ctrl+Z takes it back).",
                                     10000)

    # -- intake check ----------------------------------------------------------------------------
    def check_new_shoot(self, folder: Optional[Path] = None) -> Optional[IntakeDialog]:
        """File ▸ Check a New Shoot…: which pictures of a folder the open catalogue already has. The report is
        a window-modal dialog that does not block (it is returned, so a test can drive it)."""
        if self.session is None:
            self.show_error("Open a catalogue first: a new shoot is checked against the open catalogue.")
            return None
        if folder is None:
            chosen = QFileDialog.getExistingDirectory(self, "Check a new shoot against the catalogue")
            if not chosen:
                return None
            folder = Path(chosen)
        if self.intake_dialog is not None:
            self.intake_dialog.reject()  # one check at a time; a new one replaces the old report
            self.intake_dialog.dispose()
        self.intake_dialog = IntakeDialog(self.session, folder, self.settings.workers(), self)
        self.intake_dialog.open()
        return self.intake_dialog

    def ask(self, dialog: QDialog) -> bool:
        """Show a question or a preview; True when the curator goes ahead."""
        if self.answer_hook is not None:
            return bool(self.answer_hook(dialog))
        result = dialog.exec()
        if isinstance(dialog, QMessageBox):
            return dialog.standardButton(dialog.clickedButton()) == QMessageBox.StandardButton.Yes
        return result == QDialog.DialogCode.Accepted

    # -- product data ----------------------------------------------------------------------------
    def import_product_data(self, path: Optional[Path] = None) -> Optional[ImportDialog]:
        """File ▸ Import Product Data…: choose the CSV, check the columns, import in the background. The dialog
        is window-modal but does not block (it is returned, so a test can drive it)."""
        if self.session is None:
            return None
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(self, "Import product data from the catalogue system",
                                                    str(Path.home()), "Product data (*.csv *.tsv *.txt);;All files (*)")
            if not chosen:
                return None
            path = Path(chosen)
        if self.import_dialog is not None and not self.import_dialog.importing:
            self.import_dialog.deleteLater()  # the previous one is done with
        dialog = ImportDialog(self.session, path, self)
        dialog.imported.connect(self._product_data_imported)
        self.import_dialog = dialog
        dialog.open()
        return dialog

    def _product_data_imported(self, report) -> None:
        self.statusBar().showMessage(f"Product data: {report.rows} rows read, {report.pictures} pictures matched, "
                                     f"{report.waiting_rows} rows waiting for their pictures.", 15000)
        self._refresh_all()  # every view shows the new product data

    def _update_error_tab_title(self) -> None:
        count = len(self.errors.model.rows)
        self.tabs.setTabText(self.tabs.indexOf(self.errors), f"Unreadable files ({count})" if count
                             else "Unreadable files")

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.groups and self.session is not None:
            self.groups.refresh()

    def find_similar(self, sha256: str, label: str) -> None:
        self.tabs.setCurrentWidget(self.search)
        self.search.search_similar(sha256, label)

    # -- export ----------------------------------------------------------------------------------
    def export_dialog(self) -> Optional[Worker]:
        """File ▸ Export Merge List…: the merge groups (their keepers come from the policy, which compares
        pictures) are read in a worker; the confirmation follows when they arrive."""
        if self.session is None:
            return None
        session = self.session
        self.statusBar().showMessage("Working out the merge list…")
        return session.merged_async(lambda merged: self.session is session and self._confirm_export(merged))

    def _confirm_export(self, merged: list) -> None:
        self.statusBar().clearMessage()
        s = summary(merged)
        if s["duplicates"] == 0:
            QMessageBox.information(self, "Nothing to export", "No merges are approved yet. Mark pairs as "
                                    "“Merge” (M) in the review first.")
            return
        decided, total = self.review.model.counts()
        skipped = self.review.model.skipped()
        undecided = total - decided
        pending = (f"{undecided} of {total} proposed pairs are still undecided"
                   + (f" ({skipped} of them skipped)" if skipped else "") + ": they are not in the list."
                   if undecided else f"All {total} proposed pairs are decided.")
        question = QMessageBox(QMessageBox.Icon.Question, "Export the merge list",
                               f"The merge list will hold {s['duplicates']} duplicates in {s['groups']} groups; "
                               f"removing them would free {s['bytes_freed'] / 1e6:.1f} MB.\n\n{pending}\n\n"
                               "Only approved merges are exported. Continue?",
                               QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        if not self.ask(question):
            return
        # Qt's dialog would ask "replace?" before the core can refuse a catalogue file or a picture, so
        # export_to asks instead, once. macOS's panel always asks: there its answer is the consent.
        on_mac = sys.platform == "darwin"
        path, chosen_filter = QFileDialog.getSaveFileName(
            self, "Export the approved merge list", str(Path.home() / "fashionsim-merges.csv"),
            "CSV (*.csv);;JSON (*.json)", options=QFileDialog.Option(0) if on_mac
            else QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.export_to(Path(path), "json" if path.lower().endswith(".json") or "json" in chosen_filter.lower()
                           else "csv", confirm_replace=(lambda _: True) if on_mac else None)

    def export_to(self, path: Path, fmt: str,
                  confirm_replace: Optional[Callable[[Path], bool]] = None) -> Optional[int]:
        """Export after the core's checks; an existing file is replaced only if `confirm_replace` (default:
        a question to the curator) says yes. Returns the row count, or None when nothing was written."""
        try:
            try:
                count = export_merges(self.session.catalog, path, fmt)
            except TargetExists:
                if not (confirm_replace or self._confirm_replace)(path):
                    return None
                count = export_merges(self.session.catalog, path, fmt, replace=True)
        except ExportError as exc:  # already a sentence naming the file
            self.show_error(str(exc))
            return None
        except (OSError, FashionSimError) as exc:
            self.show_error(f"The merge list could not be written to {path}: {getattr(exc, 'strerror', None) or exc}")
            return None
        message = f"Wrote {count} approved merges to {path}"
        self.statusBar().showMessage(message, 15000)
        if not os.environ.get("FASHIONSIM_NO_DIALOGS"):
            QMessageBox.information(self, "Merge list exported", message)
        return count

    def _confirm_replace(self, path: Path) -> bool:
        if os.environ.get("FASHIONSIM_NO_DIALOGS"):
            return False  # nobody to ask: keep the existing file
        return QMessageBox.question(
            self, "Replace the file?", f"{path} already exists. Replace it with the merge list?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No) == QMessageBox.StandardButton.Yes

    # -- settings --------------------------------------------------------------------------------
    def settings_dialog(self) -> None:
        dialog = SettingsDialog(self.settings, self)
        if dialog.exec():
            self.apply_settings()

    def apply_settings(self) -> None:
        """A new threshold changes which pairs are proposed; workers are read when indexing starts."""
        if self.session is not None:
            self.session.min_score = self.settings.threshold()
            self._refresh_all(force=True)

    # -- drag and drop, paste --------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        self.handle_mime(event.mimeData())
        event.acceptProposedAction()

    def paste(self) -> None:
        self.handle_mime(QGuiApplication.clipboard().mimeData(), source="pasted picture")

    def handle_mime(self, mime, check_folders: bool = False, source: str = "dropped picture") -> None:
        """A folder opens as the catalogue (with `check_folders`, dropped on Visual search: it is checked against
        the open catalogue as a new shoot); picture files or picture data become a visual search."""
        local = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []
        folders = [p for p in local if os.path.isdir(p)]
        if folders and check_folders and self.session is not None:
            self.tabs.setCurrentWidget(self.search)
            self.check_new_shoot(Path(folders[0]))
            return
        if folders:
            self.open_folder(Path(folders[0]))
            return
        images = [p for p in local if os.path.isfile(p) and _is_image_file(p)]
        if images:
            self.tabs.setCurrentWidget(self.search)
            self.search.search_file(images[0])
            if len(images) > 1:
                self.statusBar().showMessage(f"Searching with {os.path.basename(images[0])}; "
                                             f"drop one picture at a time for the others.", 8000)
            return
        if mime.hasImage():
            image = QImage(mime.imageData())
            if not image.isNull():
                self.tabs.setCurrentWidget(self.search)
                self.search.search_qimage(image, source)  # named as it came: pasted or dropped
                return
        remote = [url.toString() for url in mime.urls() if not url.isLocalFile()] if mime.hasUrls() else []
        if remote:
            self.show_error("That is a link to a picture on the web. FashionSim works offline: save the picture "
                            "first, or drag the picture itself rather than its link.")
        elif local:
            self.show_error("FashionSim can search with pictures (JPEG, PNG, WebP, …) or open folders.")

    # -- errors and closing ----------------------------------------------------------------------
    def show_error(self, message: str) -> None:
        self.statusBar().showMessage(message, 15000)
        if os.environ.get("FASHIONSIM_NO_DIALOGS"):
            return  # tests read the status bar instead of a modal dialog
        QMessageBox.warning(self, "FashionSim", message)

    def _restore_geometry(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)
        for name, splitter in (("review", self.review.splitter), ("compare", self.review.compare.splitter)):
            state = self.settings.value(f"splitter/{name}")
            if isinstance(state, QByteArray) and splitter.restoreState(state) and name == "review":
                self.review.layout_restored = True

    def closeEvent(self, event) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("splitter/review", self.review.splitter.saveState())
        self.settings.setValue("splitter/compare", self.review.compare.splitter.saveState())
        self.settings.sync()
        self.review.compare.stop()
        self.search.cancel()
        if not self.pool.shutdown():  # cancel every worker and wait for it before closing the catalogue
            log.warning("background work did not stop within the time limit")
        self.close_session()
        super().closeEvent(event)
