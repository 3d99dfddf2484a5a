"""The main window: sidebar | photo grid or lens sections | details, with the search bar and lens picker
on top and indexing status at the bottom.

It wires widgets to the core and holds no retrieval logic: searches go to ``Library`` (on the model pool,
so a slow model load never blocks painting), folder listings to :mod:`photolens.browse` (on the database
pool), lens views to the :class:`~photolens.gui.lens_adapter.LensAdapter`. Results come back through a
:class:`~photolens.gui.workers.TaskRunner` (stale ones dropped) and reach the model in bounded batches.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from photolens import browse
from photolens.browse import FolderNode, PhotoRow
from photolens.errors import ModelUnavailableError, PhotolensError
from photolens.gui import settings as gui_settings
from photolens.gui.dialogs.export_dialog import ExportDialog
from photolens.gui.dialogs.failures import FailuresDialog
from photolens.gui.dialogs.lens_editor import LensEditorDialog
from photolens.gui.dialogs.model_missing import ModelMissingDialog
from photolens.gui.dialogs.settings_dialog import LibraryOptions, SettingsDialog
from photolens.gui.dialogs.welcome import WelcomePage
from photolens.gui.lens_adapter import LensAdapter, LensFields, LensSummary, Section
from photolens.gui.model_setup import check_model
from photolens.gui.models import PhotoListModel, Roles
from photolens.gui.search_adapter import SearchResult, run_search
from photolens.gui.settings import GuiSettings
from photolens.gui.thumbnails import ThumbnailLoader, default_cache_dir
from photolens.gui.widgets.details_pane import DetailsPane
from photolens.gui.widgets.index_status import IndexStatusWidget
from photolens.gui.widgets.lens_bar import LensBar
from photolens.gui.widgets.photo_grid import PhotoGrid
from photolens.gui.widgets.search_bar import SearchBar, SearchRequest
from photolens.gui.widgets.sections_view import STRIP_PHOTOS, SectionData, SectionsView
from photolens.gui.widgets.sidebar import Sidebar
from photolens.gui.workers import BatchFeeder, IndexController, IndexOutcome, IndexStatus, Pools, TaskRunner

log = logging.getLogger(__name__)

SAVED_SEARCHES_KEY = "gui.saved_searches"
OPTIONS_KEYS = {"excludes": "excludes", "follow_symlinks": "follow_symlinks", "include_hidden": "include_hidden"}
LENS_SAMPLE = 300  # photos in the lens editor's live preview
PAGE_WELCOME, PAGE_GRID, PAGE_SECTIONS = 0, 1, 2


@dataclass
class LibrarySnapshot:
    """What the sidebar and status bar show, read on the database pool."""

    roots: list[str]
    tree: list[FolderNode]
    total: int
    failed: int
    lenses: list[LensSummary]


class MainWindow(QMainWindow):
    """``library``: an open :class:`photolens.library.Library`. ``pools`` and ``lens_adapter`` are injectable
    (tests pass synchronous pools and a fake lens service)."""

    library_refreshed = Signal()
    photos_shown = Signal()  # the grid got a new list (browse, search or section)
    sections_shown = Signal()

    def __init__(self, library: Any, settings: GuiSettings | None = None, pools: Pools | None = None,
                 lens_adapter: LensAdapter | None = None, thumbnail_dir: str | None = None,
                 check_model_on_start: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        self.library = library
        self.settings = settings or gui_settings.load_settings()
        self.pools = pools or Pools.create()
        self.runner = TaskRunner(self)
        self.feeder = BatchFeeder(self)
        self.index = IndexController(self)
        self.thumbnails = ThumbnailLoader(self.pools.thumbnails, thumbnail_dir or default_cache_dir(),
                                          self.settings.memory_cache_mb * 1024 * 1024, parent=self)
        self.lenses = lens_adapter if lens_adapter is not None else LensAdapter(library)
        self.model = PhotoListModel(self.thumbnails, self)
        self.folder: str | None = None
        self.request: SearchRequest | None = None
        self.section: Section | None = None
        self.roots: list[str] = []
        self.lens_summaries: list[LensSummary] = []
        self.model_dialog: ModelMissingDialog | None = None
        self.model_missing_shown = False
        self.last_error = ""
        self._closing = False
        self._shown_title = ""
        self._model_check: tuple[Any, Any] | None = None
        self._scan_refreshed = False
        self._check_model_on_start = check_model_on_start
        self.setWindowTitle("photolens")
        self.setObjectName("mainWindow")
        self.resize(1360, 860)
        self._build()
        self._menus()
        self._restore_window()
        QTimer.singleShot(0, self._start)

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        self.search_bar = SearchBar()
        self.lens_bar = LensBar()
        top = QWidget()
        top.setObjectName("topBar")
        top_layout = QHBoxLayout(top)
        top_layout.setContentsMargins(8, 6, 8, 6)
        top_layout.addWidget(self.search_bar, 3)
        top_layout.addWidget(self.lens_bar, 0)

        self.sidebar = Sidebar()
        self.grid = PhotoGrid(self.model, zoom=self.settings.zoom)
        self.sections_view = SectionsView(self.thumbnails)
        self.details = DetailsPane()
        self.welcome = WelcomePage(self.library.db.url, str(self.thumbnails.disk.folder), self.library.spec.text)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.grid)
        self.stack.addWidget(self.sections_view)
        self.stack.setCurrentIndex(PAGE_GRID)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.stack)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([250, 800, 320])
        self.splitter.setCollapsible(1, False)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(top)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        self.index_status = IndexStatusWidget()
        self.statusBar().addPermanentWidget(self.index_status)
        self.info_label = QLabel("")
        self.statusBar().addWidget(self.info_label, 1)

        # signals
        self.search_bar.search_requested.connect(self.search)
        self.search_bar.cleared.connect(lambda: self.browse(self.folder))
        self.search_bar.save_requested.connect(self._ask_save_search)
        self.lens_bar.lens_changed.connect(self._lens_changed)
        self.lens_bar.mode_changed.connect(self._mode_changed)
        self.lens_bar.k_changed.connect(self._k_changed)
        self.lens_bar.new_requested.connect(lambda: self.open_lens_editor(None))
        self.lens_bar.edit_requested.connect(self.open_lens_editor)
        self.lens_bar.k.setValue(self.settings.cluster_k)
        self.sidebar.folder_selected.connect(self._folder_selected)
        self.sidebar.lens_selected.connect(self.lens_bar.set_lens)
        self.sidebar.search_selected.connect(self._saved_search_selected)
        self.sidebar.search_removed.connect(self.remove_saved_search)
        self.sidebar.lens_removed.connect(self.delete_lens)
        self.sidebar.add_folder_requested.connect(self.choose_folder)
        self.grid.current_changed.connect(self.show_photo)
        self.grid.activated.connect(lambda row: row and self.details._opener(row.path))
        self.grid.sort_changed.connect(self.set_sort)
        self.grid.zoom_changed.connect(self._zoom_changed)
        self.grid.export_requested.connect(self.export_selected)
        self.sections_view.open_section.connect(self.open_section)
        self.sections_view.export_section.connect(self.export_section)
        self.sections_view.photo_selected.connect(self.show_photo)
        self.details.more_like_this.connect(self.more_like_this)
        self.welcome.folders_chosen.connect(self.add_folders)
        self.thumbnails.preview_ready.connect(self._preview_ready)
        self.index.progress.connect(self._index_progress)
        self.index.finished.connect(self._index_finished)
        self.index.running_changed.connect(self.index_status.set_running)
        self.index_status.pause_requested.connect(self.index.pause)
        self.index_status.resume_requested.connect(self.index.resume)
        self.index_status.cancel_requested.connect(self.cancel_index)
        self.index_status.failures_requested.connect(self.show_failures)
        self._set_lens_ui(self.lenses.available)

    def _menus(self) -> None:
        def action(menu, text: str, slot, shortcut: str | QKeySequence.StandardKey | None = None) -> QAction:
            act = QAction(text, self)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(slot)
            menu.addAction(act)
            return act

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        action(file_menu, "Add folder…", self.choose_folder, QKeySequence.StandardKey.Open)
        self.export_action = action(file_menu, "Export selected…", self.export_selected, "Ctrl+E")
        action(file_menu, "Settings…", self.open_settings, QKeySequence.StandardKey.Preferences)
        file_menu.addSeparator()
        action(file_menu, "Quit", self.close, QKeySequence.StandardKey.Quit)
        library_menu = bar.addMenu("&Library")
        action(library_menu, "Index now", lambda: self.start_index(), "F5")
        action(library_menu, "Pause / resume indexing", self.toggle_pause)
        action(library_menu, "Cancel indexing", self.cancel_index)
        action(library_menu, "Unreadable files…", self.show_failures)
        action(library_menu, "Model…", self.show_model_dialog)
        self.lens_menu = bar.addMenu("L&ens")
        action(self.lens_menu, "New lens…", lambda: self.open_lens_editor(None))
        action(self.lens_menu, "Edit lens…", lambda: self.lens_bar.lens and self.open_lens_editor(self.lens_bar.lens))
        view_menu = bar.addMenu("&View")
        action(view_menu, "Find", lambda: self.search_bar.text.setFocus(), QKeySequence.StandardKey.Find)
        action(view_menu, "Zoom in", lambda: self.grid.set_zoom(self.grid.delegate.size + 32), QKeySequence.StandardKey.ZoomIn)
        action(view_menu, "Zoom out", lambda: self.grid.set_zoom(self.grid.delegate.size - 32),
               QKeySequence.StandardKey.ZoomOut)
        action(view_menu, "All photos", lambda: self.sidebar.select_folder(None), "Ctrl+1")
        help_menu = bar.addMenu("&Help")
        action(help_menu, "Where is my data?", self.show_data_locations)
        action(help_menu, "About photolens", self.show_about)

    def _restore_window(self) -> None:
        geometry, state, splitter = gui_settings.load_window_state()
        if isinstance(geometry, QByteArray | bytes) and geometry:
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray | bytes) and state:
            self.restoreState(state)
        if isinstance(splitter, QByteArray | bytes) and splitter:
            self.splitter.restoreState(splitter)

    def _set_lens_ui(self, available: bool) -> None:
        self.lens_bar.setVisible(available)
        if hasattr(self, "lens_menu"):
            self.lens_menu.menuAction().setVisible(available)

    # ------------------------------------------------------------------ startup
    def _start(self) -> None:
        self._set_lens_ui(self.lenses.available)
        self.browse(None)  # photos first (the sidebar's counts can wait a moment)
        self.refresh_library()
        if self._check_model_on_start:
            self.check_model()
        if self.settings.resume_index:
            self.info_label.setText("Resuming the interrupted indexing run…")
            self.start_index()
        QTimer.singleShot(10_000, self.prune_thumbnail_cache)  # keep the disk cache within its size

    def check_model(self) -> None:
        """Cheap offline check (no torch); ARCH:TAG models are checked at first search or index."""
        result = self.model_check()
        if result.available is False:
            self.show_model_dialog(result.message)

    @property
    def model_key(self) -> str | None:
        try:
            return self.library.model_key
        except PhotolensError:  # e.g. a local model folder that is gone
            return None

    @property
    def model_ready(self) -> bool:
        return self.model_check().available is not False

    def model_check(self):
        """The offline weights check of the current model, done once per library (it touches the disk)."""
        if self._model_check is None or self._model_check[0] is not self.library:
            self._model_check = (self.library, check_model(self.library.spec))
        return self._model_check[1]

    def refresh_library(self, browse_after: bool = False) -> None:
        library, lenses = self.library, self.lenses

        def read() -> LibrarySnapshot:
            roots = library.roots()
            tree = browse.folder_tree(library.db, roots)
            total = browse.count_photos(library.db)
            failed = len(library.failures())
            lens_list = lenses.list_lenses() if lenses.available else []
            return LibrarySnapshot(roots, tree, total, failed, lens_list)

        def done(snapshot: LibrarySnapshot) -> None:
            self.roots = snapshot.roots
            self.sidebar.set_folders(snapshot.tree, snapshot.total)
            self.lens_summaries = snapshot.lenses
            self.sidebar.set_lenses(snapshot.lenses, self.lenses.available)
            self.lens_bar.set_lenses(snapshot.lenses)
            self.sidebar.set_saved_searches(self.saved_searches())
            self.index_status.set_failures(snapshot.failed)
            if not snapshot.roots and not self.index.running:
                self.stack.setCurrentIndex(PAGE_WELCOME)
            elif self.stack.currentIndex() == PAGE_WELCOME:
                self.stack.setCurrentIndex(PAGE_GRID)
            self.library_refreshed.emit()
            if browse_after and snapshot.roots:
                self.reload()

        self.runner.run("library", self.pools.db, read, done, self._error)

    # ------------------------------------------------------------------ photos
    def reload(self) -> None:
        """Show again whatever is current (search results, a folder, lens sections)."""
        if self.lens_bar.mode != "photos" and self.lens_bar.lens:
            self.show_lens_view()
        elif self.request is not None:
            self.search(self.request)
        elif self.section is not None:
            self.open_section(self.section)
        else:
            self.browse(self.folder)

    def _folder_selected(self, folder: str | None) -> None:
        self.folder = folder
        self.search_bar.scope = folder
        if self.request is not None:
            self.search(SearchRequest(self.request.text, self.request.avoid, self.request.photo, folder))
        elif self.lens_bar.mode != "photos" and self.lens_bar.lens:
            self.show_lens_view()
        else:
            self.browse(folder)

    def browse(self, folder: str | None) -> None:
        """List a folder (recursive) or the whole library, sorted by the chosen mode (date by default)."""
        self.folder = folder
        self.request = None
        self.section = None
        if self.lens_bar.mode != "photos" and self.lens_bar.lens:
            self.show_lens_view()
            return
        sort = self.settings.sort if self.settings.sort != "relevance" else "date"
        title = os.path.basename(folder.rstrip(os.sep)) or folder if folder else "All photos"
        db = self.library.db
        self._show_rows(title, lambda: browse.list_photos(db, folder, sort=sort), sort, relevance=False)

    def search(self, request: SearchRequest) -> None:
        request = SearchRequest(request.text, request.avoid, request.photo, self.folder)
        self.request = request
        self.section = None
        self.search_bar.set_request(request)
        if self.lens_bar.mode != "photos":
            self.lens_bar.set_mode("photos")  # results are a list of photos
        library, lenses, lens = self.library, self.lenses, self.lens_bar.lens
        limit = self.settings.result_limit

        def run() -> SearchResult:
            return run_search(library, request, limit, lens, lenses)

        busy = "Searching…" if library.embedder_loaded else "Loading the model and searching…"
        self.info_label.setText(busy)
        through = f" through {lens}" if lens and self.lenses.available and not (request.photo and request.text) else ""
        self._show_rows(f"Results{through}: {request.describe()}", run, "relevance", relevance=True,
                        pool=self.pools.model, channel="photos", busy=busy)

    def more_like_this(self, path: str) -> None:
        pixmap = None
        row = self.grid.current_row()
        if row is not None and row.path == path:
            pixmap = self.thumbnails.pixmap(row.cache_key)
        self.search_bar.text.clear()
        self.search_bar.avoid.clear()
        self.search_bar.set_photo(path, pixmap)
        self.search(self.search_bar.request())

    def _show_rows(self, title: str, fetch: Any, sort: str, relevance: bool, pool: Any = None,
                   channel: str = "photos", busy: str = "") -> None:
        """Fetch rows off the GUI thread, then show them under ``title``. Reloading the same listing (e.g.
        after indexing) keeps the current photo and the scroll position."""
        self.grid.show_message(busy)
        self.thumbnails.cancel_pending()
        if self.stack.currentIndex() != PAGE_WELCOME or self.roots:
            self.stack.setCurrentIndex(PAGE_GRID)

        def done(result: list[PhotoRow] | SearchResult) -> None:
            rows, notes = (result.rows, result.notes) if isinstance(result, SearchResult) else (result, [])
            same = title == self._shown_title and self.model.rowCount() > 0
            current = self.grid.current_row() if same else None
            keep_id = current.id if current is not None else None
            keep_scroll = self.grid.view.verticalScrollBar().value() if same else 0
            self.info_label.setText("")
            self._shown_title = title
            self.grid.set_title(title)
            self.grid.set_sort(sort, relevance)
            self.model.set_rows([], sort=sort)
            self.grid.show_message("")
            if notes:
                self.grid.show_message(" ".join(notes))
            elif not rows:
                self.grid.show_message("No photos here yet." if not relevance else "No matching photos.")

            def finished() -> None:
                if keep_id is not None:
                    row = self.model.row_of_id(keep_id)
                    if row >= 0:
                        self.grid.view.selectionModel().setCurrentIndex(
                            self.model.index(row, 0), self.grid.view.selectionModel().SelectionFlag.ClearAndSelect)
                self.grid.view.verticalScrollBar().setValue(keep_scroll)
                self._rows_done()

            # bounded batches: the first chunk paints at once, the rest follows between events
            self.feeder.feed(rows, self.model.append_rows, finished)

        self.runner.run(channel, pool or self.pools.db, fetch, done, self._error)

    def _rows_done(self) -> None:
        if not self.grid.view.currentIndex().isValid():
            self.details.show_details(None)
        self.photos_shown.emit()

    def set_sort(self, mode: str) -> None:
        if mode != "relevance":
            self.settings.sort = mode
        if self.request is not None or self.section is not None or self.model.rowCount() < 20_000:
            self.model.sort_by(mode)
        else:
            self.browse(self.folder)  # a big listing is sorted again off the GUI thread

    def _zoom_changed(self, size: int) -> None:
        self.settings.zoom = size

    # ------------------------------------------------------------------ details
    def show_photo(self, row: PhotoRow | None) -> None:
        if row is None:
            self.details.show_details(None)
            return
        pixmap = self.thumbnails.pixmap(row.cache_key)
        db, key = self.library.db, self.model_key

        def done(details: browse.PhotoDetails | None) -> None:
            self.details.show_details(details, key, self.model_ready)
            if pixmap is not None:
                self.details.set_preview(pixmap)  # at once; the large preview replaces it
            if details is not None:
                self._preview_key = row.cache_key
                self.thumbnails.request_preview(row.cache_key, details.path)

        self.runner.run("details", self.pools.db, lambda: browse.photo_details(db, row.id), done, self._error)

    def _preview_ready(self, key: str, pixmap: QPixmap) -> None:
        if key == getattr(self, "_preview_key", None) and not pixmap.isNull():
            self.details.set_preview(pixmap)

    # ------------------------------------------------------------------ lenses
    def _lens_changed(self, lens: str | None) -> None:
        if lens is None:
            self.stack.setCurrentIndex(PAGE_GRID)
            self.reload()
        elif self.lens_bar.mode != "photos":
            self.show_lens_view()

    def _mode_changed(self, mode: str) -> None:
        if mode == "photos":
            self.stack.setCurrentIndex(PAGE_GRID)
            if self.section is None:
                self.reload()
        else:
            self.show_lens_view()

    def _k_changed(self, k: int) -> None:
        self.settings.cluster_k = k
        if self.lens_bar.mode == "clusters":
            self.show_lens_view()

    def show_lens_view(self) -> None:
        """Group or cluster the current folder (or the current search results) through the chosen lens."""
        lens, mode, k = self.lens_bar.lens, self.lens_bar.mode, self.lens_bar.k.value()
        if not lens or mode == "photos" or not self.lenses.available:
            return
        self.stack.setCurrentIndex(PAGE_SECTIONS)
        scope = os.path.basename(self.folder.rstrip(os.sep)) if self.folder else "all photos"
        self.sections_view.set_message(f"{'Grouping' if mode == 'groups' else 'Clustering'} {scope} by {lens}…")
        library, lenses, folder = self.library, self.lenses, self.folder

        def run() -> list[SectionData]:
            ids = [r.id for r in browse.list_photos(library.db, folder, sort="name")]
            sections = lenses.group(lens, ids) if mode == "groups" else lenses.cluster(lens, ids, k or None)
            return section_data(library.db, sections)

        def done(data: list[SectionData]) -> None:
            what = "groups" if mode == "groups" else "clusters"
            total = sum(d.section.count for d in data)
            self.sections_view.set_sections(data, heading=f"{lens}: {what} of {scope} ({total:,} photos)")
            if any(s.name == lens and s.builtin for s in self.lens_summaries):
                self.refresh_library()  # a preset is saved when first used: list it with the saved lenses
            self.sections_shown.emit()

        def failed(exc: BaseException) -> None:
            self.sections_view.set_message(f"Cannot show {lens}: {exc}")
            self._error(exc)

        self.runner.run("photos", self.pools.model, run, done, failed)

    def open_section(self, section: Section) -> None:
        """Show every photo of a group or cluster in the grid."""
        self.section = section
        self.request = None
        lens = self.lens_bar.lens or ""
        db = self.library.db
        self.lens_bar.blockSignals(True)
        self.lens_bar.set_mode("photos")
        self.lens_bar.blockSignals(False)
        self.lens_bar._sync_enabled()
        self._show_rows(f"{lens}: {section.title}", lambda: browse.rows_in_order(db, section.photo_ids),
                        "relevance", relevance=True)

    def open_lens_editor(self, name: str | None) -> LensEditorDialog:
        fields = None
        if name:
            try:
                summary = self.lenses.get(name)
                fields = LensFields(summary.name, summary.description, list(summary.values), list(summary.templates))
            except PhotolensError as exc:
                self._error(exc)
        library, lenses, folder = self.library, self.lenses, self.folder

        def preview(lens_fields: LensFields) -> list[SectionData]:
            rows = browse.list_photos(library.db, folder, sort="name")
            step = max(1, len(rows) // LENS_SAMPLE)
            sample = [r.id for r in rows[::step]][:LENS_SAMPLE]
            return section_data(library.db, lenses.group(lens_fields, sample))

        dialog = LensEditorDialog(self.lenses, self.pools.model, self.thumbnails, preview, fields, self)
        dialog.saved.connect(self._lens_saved)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.lens_editor = dialog
        dialog.open()
        return dialog

    def delete_lens(self, name: str, confirm: bool = True) -> bool:
        if confirm and QMessageBox.question(self, "Delete lens", f"Delete the lens “{name}”? Photos are not affected.") \
                != QMessageBox.StandardButton.Yes:
            return False
        deleted = self.lenses.delete(name)
        if self.lens_bar.lens == name:
            self.lens_bar.set_lens(None)
        self.refresh_library()
        return deleted

    def _lens_saved(self, name: str) -> None:
        self.refresh_library()
        QTimer.singleShot(0, lambda: self.lens_bar.set_lens(name))

    # ------------------------------------------------------------------ saved searches
    def saved_searches(self) -> list[dict]:
        try:
            value = browse.get_setting(self.library.db, SAVED_SEARCHES_KEY, [])
        except PhotolensError:
            return []
        return [s for s in value if isinstance(s, dict)] if isinstance(value, list) else []

    def _ask_save_search(self, request: SearchRequest) -> None:
        name, ok = QInputDialog.getText(self, "Save search", "Name:", text=request.describe())
        if ok and name.strip():
            self.save_search(request, name.strip())

    def save_search(self, request: SearchRequest, name: str) -> None:
        searches = [s for s in self.saved_searches() if s.get("name") != name]
        searches.append({"name": name, **request.as_dict()})
        browse.set_setting(self.library.db, SAVED_SEARCHES_KEY, searches)
        self.sidebar.set_saved_searches(searches)

    def remove_saved_search(self, search: dict) -> None:
        searches = [s for s in self.saved_searches() if s.get("name") != search.get("name")]
        browse.set_setting(self.library.db, SAVED_SEARCHES_KEY, searches)
        self.sidebar.set_saved_searches(searches)

    def _saved_search_selected(self, search: dict) -> None:
        request = SearchRequest.from_dict(search)
        self.folder = request.scope
        self.search_bar.set_request(request)
        self.search(request)

    # ------------------------------------------------------------------ export
    def export_selected(self) -> ExportDialog | None:
        rows = self.grid.selected_rows() if self.stack.currentIndex() == PAGE_GRID else []
        if not rows:
            for widget in self.sections_view.sections if self.stack.currentIndex() == PAGE_SECTIONS else []:
                rows += [i.data(Roles.Row) for i in widget.view.selectionModel().selectedIndexes()]
        if not rows:
            self.info_label.setText("Select photos to export first.")
            return None
        return self.open_export([r.path for r in rows], "")

    def export_section(self, section: Section) -> None:
        db = self.library.db
        self.runner.run("export", self.pools.db, lambda: [r.path for r in browse.rows_in_order(db, section.photo_ids)],
                        lambda paths: self.open_export(paths, section.title), self._error)

    def open_export(self, paths: list[str], title: str) -> ExportDialog:
        dialog = ExportDialog(paths, self.pools.db, title, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.export_dialog = dialog
        dialog.open()
        return dialog

    # ------------------------------------------------------------------ indexing
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a photo folder")
        if folder:
            self.add_folders([folder])

    def add_folders(self, folders: list[str]) -> None:
        folders = [os.path.abspath(f) for f in folders]
        self.stack.setCurrentIndex(PAGE_GRID)
        self.grid.set_title("Adding photos…")
        self.start_index(folders)

    def library_options(self) -> LibraryOptions:
        db = self.library.db
        try:
            return LibraryOptions(list(browse.get_setting(db, "excludes", []) or []),
                                  bool(browse.get_setting(db, "follow_symlinks", False)),
                                  bool(browse.get_setting(db, "include_hidden", False)),
                                  str(browse.get_setting(db, "index_mode", "auto") or "auto"))
        except PhotolensError:
            return LibraryOptions()

    def start_index(self, roots: list[str] | None = None) -> bool:
        if self.index.running:
            return False
        from photolens.indexer import IndexOptions
        from photolens.scanner import ScanOptions

        roots = roots or self.roots or self.library.roots()
        if not roots:
            self.stack.setCurrentIndex(PAGE_WELCOME)
            return False
        options = self.library_options()
        index_options = IndexOptions(scan=ScanOptions(excludes=options.excludes, follow_symlinks=options.follow_symlinks,
                                                      include_hidden=options.include_hidden))
        self._scan_refreshed = False
        self.settings.resume_index = True  # cleared when the run ends (not when the app quits mid-run)
        gui_settings.save_settings(self.settings)
        return self.index.start(self.library, roots, index_options)

    def toggle_pause(self) -> None:
        if not self.index.running:
            return
        if self.index.paused:
            self.index.resume()
        else:
            self.index.pause()
        self.index_status.paused = self.index.paused
        self.index_status.pause.setText("Resume" if self.index.paused else "Pause")

    def cancel_index(self) -> None:
        self.index.cancel()

    def _index_progress(self, status: IndexStatus) -> None:
        self.index_status.update_status(status)
        if status.phase != "scan" and not self._scan_refreshed:
            self._scan_refreshed = True  # the scan has put every photo in the store: show them now
            self.refresh_library(browse_after=self.request is None)

    def _index_finished(self, outcome: IndexOutcome) -> None:
        if not self._closing:
            self.settings.resume_index = False
            gui_settings.save_settings(self.settings)
        summary = outcome.summary
        if outcome.error is not None:
            self.index_status.set_message("Indexing stopped")
            self._error(outcome.error)
        elif outcome.cancelled:
            self.index_status.set_message("Indexing cancelled; F5 continues where it stopped")
        elif summary is not None:
            self.index_status.set_message(f"Indexed: {summary.new:,} new, {summary.embedded:,} embedded, "
                                          f"{summary.failed:,} unreadable")
        self.last_outcome = outcome
        if not self._closing:
            self.refresh_library(browse_after=self.request is None)
            if outcome.model_error:
                self.show_model_dialog(outcome.model_error)

    def show_failures(self) -> FailuresDialog:
        dialog = FailuresDialog(self.library.failures(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    # ------------------------------------------------------------------ model
    def show_model_dialog(self, message: str | None = None) -> ModelMissingDialog:
        if self.model_dialog is not None and self.model_dialog.isVisible():
            return self.model_dialog
        if message is None:
            message = self.model_check().message or f"Model in use: {self.library.spec.text}"
        dialog = ModelMissingDialog(self.library.spec, message, self.pools.model, self)
        dialog.model_chosen.connect(self.change_model)
        self.model_dialog = dialog
        self.model_missing_shown = True
        dialog.open()
        return dialog

    def change_model(self, spec_text: str, remember: bool = True) -> None:
        """Use another model: remembered in the settings, the library reopened with it."""
        if remember:
            self.settings.model = spec_text
            gui_settings.save_settings(self.settings)
        if self.index.running:
            self.info_label.setText("The new model is used once indexing finishes (restart photolens).")
            return
        from photolens.library import Library

        try:
            library = Library(db=self.library.db.url, model=spec_text)
        except PhotolensError as exc:
            self._error(exc)
            return
        old, self.library = self.library, library
        self.lenses = LensAdapter(library)
        self._set_lens_ui(self.lenses.available)
        old.close()
        self.refresh_library(browse_after=True)
        if remember:
            self.info_label.setText(f"Model: {spec_text}. Index now (F5) to make new photos searchable.")

    # ------------------------------------------------------------------ settings
    def open_settings(self) -> SettingsDialog:
        usage = ""
        dialog = SettingsDialog(self.settings, self.library_options(), self.roots or self.library.roots(),
                                self.library.spec.text, hasattr(self.library, "remove_root"), usage, self)
        dialog.clear_cache_requested.connect(self.clear_thumbnail_cache)
        dialog.accepted.connect(lambda: self.apply_settings(dialog.values()))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.settings_dialog = dialog
        dialog.open()
        return dialog

    def apply_settings(self, result: Any) -> None:
        model_changed = result.settings.model != self.settings.model
        mode_changed = result.options.index_mode != self.library_options().index_mode
        self.settings = result.settings
        gui_settings.save_settings(self.settings)
        self.thumbnails.set_memory_limit(self.settings.memory_cache_mb * 1024 * 1024)
        db = self.library.db
        browse.set_setting(db, "excludes", result.options.excludes)
        browse.set_setting(db, "follow_symlinks", result.options.follow_symlinks)
        browse.set_setting(db, "include_hidden", result.options.include_hidden)
        browse.set_setting(db, "index_mode", result.options.index_mode)
        for folder in result.removed_folders:
            self.library.remove_root(folder)
        self.prune_thumbnail_cache()
        if model_changed and result.settings.model:
            self.change_model(result.settings.model)
        elif mode_changed:
            self.change_model(self.library.spec.text, remember=False)  # reopen: the index layer reads the mode
        if result.added_folders:
            self.add_folders(result.added_folders)
        elif result.removed_folders:
            self.refresh_library(browse_after=True)

    def prune_thumbnail_cache(self) -> None:
        disk, limit = self.thumbnails.disk, self.settings.thumbnail_cache_mb * 1024 * 1024
        self.runner.run("prune", self.pools.db, lambda: disk.prune(limit), lambda _n: None, self._error)

    def clear_thumbnail_cache(self) -> None:
        disk = self.thumbnails.disk
        self.thumbnails.memory.clear()
        self.thumbnails.forget_failures()
        self.runner.run("prune", self.pools.db, disk.clear, lambda n: self.info_label.setText(
            f"Removed {n:,} cached thumbnails."), self._error)

    # ------------------------------------------------------------------ errors, help
    def _error(self, exc: BaseException) -> None:
        self.info_label.setText("")
        if isinstance(exc, ModelUnavailableError):
            self.last_error = str(exc)
            self.grid.show_message("Search needs the model. Browsing, dates and folders still work.", error=True)
            self.show_model_dialog(str(exc))
            return
        message = str(exc) if isinstance(exc, PhotolensError) else f"Unexpected error: {exc!r}"
        self.last_error = message
        self.grid.show_message(message, error=True)

    def show_data_locations(self) -> None:
        QMessageBox.information(self, "Where is my data?",
                                f"Library database: {self.library.db.url}\n"
                                f"Thumbnails: {self.thumbnails.disk.folder}\n"
                                f"Settings: {gui_settings.settings_path()}\n"
                                f"Model: {self.library.spec.text}")

    def show_about(self) -> None:
        from photolens import __version__

        QMessageBox.about(self, "About photolens",
                          f"<b>photolens {__version__}</b><p>Organise a photo library by meaning: CLIP search, "
                          "lenses and clusters, all on your computer.</p>")

    # ------------------------------------------------------------------ shutdown
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self._closing = True
        if self.index.running:
            self.settings.resume_index = True  # the next start resumes this run
            self.index.cancel()
            self.index.wait(15_000)
        self.feeder.stop()
        self.thumbnails.cancel_pending()
        gui_settings.save_settings(self.settings)
        gui_settings.save_window_state(bytes(self.saveGeometry().data()), bytes(self.saveState().data()),
                                       bytes(self.splitter.saveState().data()))
        self.pools.shutdown()
        super().closeEvent(event)


def section_data(db: Any, sections: list[Section]) -> list[SectionData]:
    """Rows for the first photos of each section (what the strips show), read in one pass."""
    wanted = [pid for s in sections for pid in s.photo_ids[:STRIP_PHOTOS]]
    rows = browse.photos_by_ids(db, wanted)
    return [SectionData(s, [rows[i] for i in s.photo_ids[:STRIP_PHOTOS] if i in rows]) for s in sections]
