"""Indexing in the window: adding folders, the run's progress, pause/cancel, retrying unreadable files,
folder watching, and keeping the views current while a run writes.

* Photos appear as soon as the scan has put them in the store (the grid is refreshed during the scan, not
  only at the end), and views refresh as embedding batches land (at most every few seconds, and less often
  when the listing itself is slow to read).
* A run starts by itself when there is something to embed and a model to do it (at start, after a model
  is chosen or downloaded, when watched folders change).
* The sidebar's snapshot (folders, counts, lenses, saved searches) is read in one task on the ``db`` pool.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from photolens import browse
from photolens.browse import FolderNode
from photolens.gui import settings as gui_settings
from photolens.gui.dialogs import ask
from photolens.gui.dialogs.failures import FailuresDialog
from photolens.gui.indexing import IndexController, IndexOutcome, IndexStatus
from photolens.gui.lens_adapter import LensSummary
from photolens.gui.watcher import FolderWatcher

SCAN_REFRESH_S = 1.0  # while scanning: photos appear this often
EMBED_REFRESH_S = 4.0  # while embedding: the view follows this often (more rarely when reading it is slow)


@dataclass
class LibrarySnapshot:
    """What the sidebar, the status bar and the indexing decisions need, read on the database pool."""

    roots: list[str]
    tree: list[FolderNode]
    total: int
    failed: int
    pending: int  # live photos without a vector of the current model (not counting unreadable ones)
    lenses: list[LensSummary] = field(default_factory=list)
    presets: list[str] = field(default_factory=list)
    saved_searches: list[Any] = field(default_factory=list)


def read_snapshot(library: Any, lenses: Any) -> LibrarySnapshot:
    from photolens.gui.controllers.browse import SAVED_SEARCHES_KEY

    roots = library.roots()
    status = library.status()
    return LibrarySnapshot(roots, browse.folder_tree(library.db, roots), browse.count_photos(library.db),
                           int(status["failed"]), max(0, int(status["photos"]) - int(status["embedded"])
                                                      - int(status["failed"])),
                           lenses.list_lenses() if lenses.available else [],
                           lenses.presets() if lenses.available else [],
                           browse.get_setting(library.db, SAVED_SEARCHES_KEY, []) or [])


def folder_paths(nodes: list[FolderNode]) -> list[str]:
    out, stack = [], list(nodes)
    while stack:
        node = stack.pop()
        out.append(node.path)
        stack.extend(node.children)
    return out


def within_roots(folders: list[str], roots: list[str]) -> list[str]:
    """Folders to rescan, kept inside the library: a folder outside every root is replaced by that root."""
    out = []
    for folder in folders:
        root = next((r for r in roots if folder == r or folder.startswith(r.rstrip(os.sep) + os.sep)), None)
        if root is not None:
            out.append(folder)
        else:
            out += [r for r in roots if r.startswith(folder.rstrip(os.sep) + os.sep)]
    return list(dict.fromkeys(out))


class IndexingController(QObject):
    library_refreshed = Signal()

    def __init__(self, window: Any):
        super().__init__(window)
        self.w = window
        self.index = IndexController(self)
        self.watcher = FolderWatcher(self)
        self.snapshot: LibrarySnapshot | None = None
        self.last_outcome: IndexOutcome | None = None
        self.rescan_queue: list[str] = []
        self.auto_index = True  # start a run by itself when photos wait for a model that is here
        self._auto_seen: int | None = None
        self._phase = ""
        self._last_refresh = 0.0
        self._refresh_cost = 0.0
        self.index.progress.connect(self._progress)
        self.index.finished.connect(self._finished)
        self.index.running_changed.connect(window.index_status.set_running)
        self.index.running_changed.connect(self.watcher.set_paused)
        self.watcher.changed.connect(self.folders_changed)

    # ------------------------------------------------------------------ the library snapshot
    def refresh_library(self, browse_after: bool = False) -> None:
        library, lenses = self.w.library, self.w.lenses
        started = time.monotonic()

        def done(snapshot: LibrarySnapshot) -> None:
            self._refresh_cost = time.monotonic() - started
            self._apply_snapshot(snapshot, browse_after)

        self.w.runner.run("library", "db", lambda: read_snapshot(library, lenses), done, self.w.report_error)

    def _apply_snapshot(self, snapshot: LibrarySnapshot, browse_after: bool) -> None:
        w = self.w
        self.snapshot = snapshot
        w.sidebar.set_folders(snapshot.tree, snapshot.total)
        w.lens_summaries = snapshot.lenses
        w.lens_presets = snapshot.presets
        w.sidebar.set_lenses(snapshot.lenses, w.lenses.available)
        w.lens_bar.set_lenses(snapshot.lenses)
        w.browser.set_saved(snapshot.saved_searches)
        w.index_status.set_failures(snapshot.failed)
        w.fit_sidebar()
        self.watcher.watch(snapshot.roots + folder_paths(snapshot.tree))
        if not snapshot.roots and not self.index.running:
            w.show_page("welcome")
        elif w.page == "welcome":
            w.show_page("grid")
            browse_after = True
        self.library_refreshed.emit()
        if browse_after and snapshot.roots:
            w.browser.reload()
        self.maybe_auto_index()

    def maybe_auto_index(self) -> None:
        """Photos wait for a model that is here: embed them (once per count, so a photo the indexer cannot
        take, e.g. outside every folder, never makes it loop)."""
        snapshot = self.snapshot
        if (self.auto_index and snapshot is not None and snapshot.pending and self.w.setup.model_ready is True
                and not self.index.running and snapshot.pending != self._auto_seen and not self.w.closing):
            self._auto_seen = snapshot.pending
            self.start_index()

    def forget_auto(self) -> None:
        """A new model: photos waiting may be embedded now even if their count did not change."""
        self._auto_seen = None

    @property
    def roots(self) -> list[str]:
        return self.snapshot.roots if self.snapshot is not None else []

    # ------------------------------------------------------------------ starting and steering a run
    def choose_folder(self) -> None:
        folder = ask.pick_folder(self.w, "Add a photo folder")
        if folder:
            self.add_folders([folder])

    def add_folders(self, folders: list[str]) -> None:
        folders = [os.path.abspath(f) for f in folders]
        self.w.show_page("grid", force=True)
        self.w.grid.set_title("Adding photos…")
        self.w.grid.show_message("Looking for photos in " + ", ".join(folders) + "…")
        if not self.start_index(folders):
            self.rescan_queue += folders  # after the current run

    def start_index(self, roots: list[str] | None = None) -> bool:
        """Index ``roots`` (every library folder when None); False when a run is going on already."""
        if self.index.running:
            return False
        from photolens.indexer import IndexOptions
        from photolens.scanner import ScanOptions

        db = self.w.library.db

        def options() -> IndexOptions:  # read on the indexing thread
            return IndexOptions(scan=ScanOptions(
                excludes=list(browse.get_setting(db, "excludes", []) or []),
                follow_symlinks=bool(browse.get_setting(db, "follow_symlinks", False)),
                include_hidden=bool(browse.get_setting(db, "include_hidden", False))))

        self._phase = ""
        self._last_refresh = time.monotonic()
        self.w.settings.resume_index = True  # cleared when the run ends (not when the app quits mid-run)
        gui_settings.save_settings(self.w.settings)
        return self.index.start(self.w.library, roots, options)

    def toggle_pause(self) -> None:
        if not self.index.running:
            return
        if self.index.paused:
            self.index.resume()
        else:
            self.index.pause()
        self.w.index_status.paused = self.index.paused
        self.w.index_status.pause.setText("Resume" if self.index.paused else "Pause")

    def cancel(self) -> None:
        self.index.cancel()

    def retry_failed(self) -> None:
        """Forget the unreadable files' failures under every library folder and index them again."""
        library, roots = self.w.library, self.roots

        def clear() -> int:
            return library.clear_failures(roots or library.roots())

        def cleared(count: int) -> None:
            self.w.info_label.setText(f"Trying {count:,} unreadable file{'s' if count != 1 else ''} again…")
            if not self.start_index():
                self.rescan_queue += self.roots
            self.refresh_library()

        self.w.runner.run("retry", "db", clear, cleared, self.w.report_error)

    def show_failures(self) -> None:
        library = self.w.library
        self.w.runner.run("failures", "db", library.failures, self._open_failures, self.w.report_error)

    def _open_failures(self, failures: list[tuple[str, str]]) -> FailuresDialog:
        dialog = FailuresDialog(failures, self.w)
        dialog.retry_requested.connect(self.retry_failed)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.w.failures_dialog = dialog
        dialog.open()
        return dialog

    def folders_changed(self, folders: list[str]) -> None:
        """Watched folders changed on disk: rescan just those (new photos appear, removed ones go)."""
        folders = within_roots(folders, self.roots)
        if folders and not self.start_index(folders):
            self.rescan_queue += folders

    # ------------------------------------------------------------------ progress
    def _progress(self, status: IndexStatus) -> None:
        w = self.w
        w.index_status.update_status(status)
        now = time.monotonic()
        phase_changed = status.phase != self._phase
        self._phase = status.phase
        every = SCAN_REFRESH_S if status.phase == "scan" else max(EMBED_REFRESH_S, 10 * self._refresh_cost)
        if (phase_changed and status.phase != "scan") or now - self._last_refresh >= every:
            self._last_refresh = now
            self.refresh_library(browse_after=w.browser.request is None or status.phase != "scan")

    def _finished(self, outcome: IndexOutcome) -> None:
        w = self.w
        self.last_outcome = outcome
        if w.closing:
            return
        w.settings.resume_index = False
        gui_settings.save_settings(w.settings)
        summary = outcome.summary
        if outcome.error is not None:
            w.index_status.set_message("Indexing stopped")
            w.report_error(outcome.error)
        elif outcome.cancelled:
            w.index_status.set_message("Indexing cancelled; F5 continues where it stopped")
        elif summary is not None:
            w.index_status.set_message(f"Indexed: {summary.new:,} new, {summary.embedded:,} embedded, "
                                       f"{summary.failed:,} unreadable")
        if outcome.model_error:
            w.setup.model_missing(outcome.model_error)
        queued, self.rescan_queue = self.rescan_queue, []
        if queued and not outcome.cancelled:
            self.start_index(list(dict.fromkeys(queued)))
        self.refresh_library(browse_after=True)
