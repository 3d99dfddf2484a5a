"""The main window: sidebar | photo grid or lens sections | details, the search bar and lens picker in the
toolbar, indexing status at the bottom, and the full-window viewer.

It builds the widgets and wires them to the controllers (:mod:`photolens.gui.controllers`), which hold the
behaviour: browse/search, lenses, indexing, settings and the model, photo actions. All background work
goes through one :class:`~photolens.gui.tasks.TaskRunner`; the window itself never touches the database.
Closing waits for running work (or cancels it) before the library may be closed.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QSplitter, QStackedWidget, QWidget

from photolens.errors import ModelUnavailableError, PhotolensError
from photolens.gui import settings as gui_settings
from photolens.gui.actions import build_actions
from photolens.gui.controllers.browse import BrowseController
from photolens.gui.controllers.indexing import IndexingController
from photolens.gui.controllers.lenses import LensController
from photolens.gui.controllers.photos import PhotoActions
from photolens.gui.controllers.settings import SettingsController
from photolens.gui.dialogs.welcome import WelcomePage
from photolens.gui.feeder import BatchFeeder
from photolens.gui.lens_adapter import LensAdapter, LensSummary
from photolens.gui.models import PhotoListModel
from photolens.gui.settings import GuiSettings
from photolens.gui.tasks import Pools, TaskRunner
from photolens.gui.thumbnails import ThumbnailLoader, default_cache_dir
from photolens.gui.widgets.details_pane import DetailsPane
from photolens.gui.widgets.index_status import IndexStatusWidget
from photolens.gui.widgets.lens_bar import LensBar
from photolens.gui.widgets.photo_grid import PhotoGrid
from photolens.gui.widgets.search_bar import SearchBar
from photolens.gui.widgets.sections_view import SectionsView
from photolens.gui.widgets.sidebar import Sidebar
from photolens.gui.widgets.viewer import PhotoViewer

log = logging.getLogger(__name__)

PAGE_WELCOME, PAGE_GRID, PAGE_SECTIONS = 0, 1, 2  # pages of the centre stack (the viewer covers everything)
CLOSE_WAIT_MS = 3000  # how long closing waits for running work before it hides and finishes in the background


class MainWindow(QMainWindow):
    """``library``: an open :class:`photolens.library.Library`. ``pools`` and ``lens_adapter`` are injectable
    (tests pass synchronous pools and a fake lens service)."""

    closed = Signal()  # the window really closed: every task and the indexer are done

    def __init__(self, library: Any, settings: GuiSettings | None = None, pools: Pools | None = None,
                 lens_adapter: LensAdapter | None = None, thumbnail_dir: str | None = None,
                 check_model_on_start: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        self.library = library
        self.settings = settings or gui_settings.load_settings()
        self.runner = TaskRunner(pools or Pools.create(), self)
        self.pools = self.runner.pools
        self.feeder = BatchFeeder(self)
        self.thumbnails = ThumbnailLoader(self.runner, thumbnail_dir or default_cache_dir(),
                                          self.settings.memory_cache_mb * 1024 * 1024, parent=self)
        self.thumbnails.set_display_size(self.settings.zoom)
        self.lenses = lens_adapter if lens_adapter is not None else LensAdapter(library)
        self.model = PhotoListModel(self.thumbnails, self)
        self.lens_summaries: list[LensSummary] = []
        self.lens_presets: list[str] = []
        self.unexpected_errors: list[BaseException] = []
        self.last_error = ""
        self.closing = False
        self._check_model_on_start = check_model_on_start
        self.setWindowTitle("photolens")
        self.setObjectName("mainWindow")
        self.resize(1360, 860)
        self._build()
        self.browser = BrowseController(self)
        self.lens_ctl = LensController(self)
        self.indexing = IndexingController(self)
        self.setup = SettingsController(self)
        self.photos = PhotoActions(self)
        self.actions_by_name = build_actions(self)
        self._connect()
        self._restore_window()
        QTimer.singleShot(0, self._start)

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        self.search_bar = SearchBar()
        self.lens_bar = LensBar()
        self.top_bar = QWidget()
        self.top_bar.setObjectName("topBar")
        top_layout = QHBoxLayout(self.top_bar)
        top_layout.setContentsMargins(4, 2, 4, 2)
        top_layout.addWidget(self.search_bar, 1)
        top_layout.addWidget(self.lens_bar, 0)
        self.sidebar = Sidebar()
        self.grid = PhotoGrid(self.model, zoom=self.settings.zoom)
        self.sections_view = SectionsView(self.thumbnails)
        self.details = DetailsPane()
        self.welcome = WelcomePage(self.library.db.url, str(self.thumbnails.disk.folder), self.library.spec.text)
        self.stack = QStackedWidget()
        for page in (self.welcome, self.grid, self.sections_view):
            self.stack.addWidget(page)
        self.stack.setCurrentIndex(PAGE_GRID)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.stack)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([240, 800, 320])
        self.splitter.setCollapsible(1, False)
        self.viewer = PhotoViewer()
        self.central = QStackedWidget()
        self.central.addWidget(self.splitter)
        self.central.addWidget(self.viewer)
        self.setCentralWidget(self.central)
        self.index_status = IndexStatusWidget()
        self.statusBar().addPermanentWidget(self.index_status)
        self.info_label = QLabel("")
        self.statusBar().addWidget(self.info_label, 1)

    def _connect(self) -> None:
        b, lens, idx, setup, photos = self.browser, self.lens_ctl, self.indexing, self.setup, self.photos
        self.search_bar.search_requested.connect(b.search)
        self.search_bar.cleared.connect(b.clear_search)
        self.search_bar.save_requested.connect(b.ask_save_search)
        self.search_bar.pick_photo_requested.connect(photos.pick_photo)
        self.search_bar.lens_chip.remove_requested.connect(lens.clear_lens)
        self.lens_bar.lens_changed.connect(lens.lens_changed)
        self.lens_bar.mode_changed.connect(lens.mode_changed)
        self.lens_bar.k_changed.connect(lens.k_changed)
        self.lens_bar.new_requested.connect(lambda: lens.open_editor(None))
        self.lens_bar.edit_requested.connect(lens.open_editor)
        self.lens_bar.import_requested.connect(lens.import_lens)
        self.lens_bar.export_requested.connect(lens.export_lens)
        self.lens_bar.k.setValue(self.settings.cluster_k)
        self.sidebar.folder_selected.connect(b.folder_selected)
        self.sidebar.lens_selected.connect(self.lens_bar.set_lens)
        self.sidebar.search_selected.connect(b.saved_search_selected)
        self.sidebar.search_removed.connect(b.remove_saved_search)
        self.sidebar.lens_removed.connect(lens.delete_lens)
        self.sidebar.add_folder_requested.connect(idx.choose_folder)
        self.grid.current_changed.connect(b.show_photo)
        self.grid.activated.connect(lambda row: row is not None and photos.view(row))
        self.grid.sort_changed.connect(b.set_sort)
        self.grid.zoom_changed.connect(self._zoom_changed)
        self.grid.export_requested.connect(photos.export_selected)
        self.grid.context_menu_requested.connect(photos.grid_menu)
        self.grid.notice_action.connect(setup.welcome_action)
        self.sections_view.open_section.connect(lens.open_section)
        self.sections_view.export_section.connect(photos.export_section)
        self.sections_view.photo_selected.connect(b.show_photo)
        self.sections_view.photo_activated.connect(lambda row: row is not None and photos.view(row, [row]))
        self.sections_view.context_menu_requested.connect(photos.strip_menu)
        self.details.more_like_this.connect(b.more_like_this)
        self.details.view_requested.connect(photos.view_path)
        self.details.action_failed.connect(lambda text: self.grid.show_message(text, error=True))
        self.welcome.folders_chosen.connect(idx.add_folders)
        self.welcome.model_action.connect(setup.welcome_action)
        self.thumbnails.preview_ready.connect(b.preview_ready)
        self.index_status.pause_requested.connect(idx.index.pause)
        self.index_status.resume_requested.connect(idx.index.resume)
        self.index_status.cancel_requested.connect(idx.cancel)
        self.index_status.failures_requested.connect(idx.show_failures)
        self._set_lens_ui(self.lenses.available)

    def _zoom_changed(self, size: int) -> None:
        self.settings.zoom = size
        self.thumbnails.set_display_size(size)

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
        self.lens_menu.menuAction().setVisible(available)
        if not available:
            self.search_bar.lens_chip.set_lens(None)

    # ------------------------------------------------------------------ state shared by the controllers
    @property
    def index(self) -> Any:
        return self.indexing.index

    @property
    def model_key(self) -> str | None:
        try:
            return self.library.model_key
        except PhotolensError:  # e.g. a local model folder that is gone
            return None

    @property
    def page(self) -> str:
        if self.central.currentWidget() is self.viewer:
            return "viewer"
        return ("welcome", "grid", "sections")[self.stack.currentIndex()]

    def show_page(self, page: str, force: bool = False) -> None:
        """``welcome``, ``grid``, ``sections`` or ``viewer`` (which covers the whole window). The welcome page
        stays until the library has a folder, unless ``force`` (a folder is being added)."""
        self.central.setCurrentWidget(self.viewer if page == "viewer" else self.splitter)
        if page == "grid" and not force and self.stack.currentIndex() == PAGE_WELCOME and not self.indexing.roots \
                and not self.indexing.index.running:
            return  # nothing to show yet: stay on the welcome page
        if page != "viewer":
            self.stack.setCurrentIndex({"welcome": PAGE_WELCOME, "grid": PAGE_GRID, "sections": PAGE_SECTIONS}[page])
        self.details.setVisible(self.stack.currentIndex() != PAGE_WELCOME)  # nothing to detail on the welcome page

    def set_library(self, library: Any) -> None:
        """Use another library object (a model switch): the lens adapter follows it."""
        self.library = library
        self.lenses = LensAdapter(library)
        self._set_lens_ui(self.lenses.available)

    def fit_sidebar(self) -> None:
        sizes = self.splitter.sizes()
        wanted = self.sidebar.preferred_width()
        if sizes and sizes[0] < wanted:
            self.splitter.setSizes([wanted, max(300, sizes[1] - (wanted - sizes[0])), sizes[2]])

    def focus_search(self) -> None:
        self.search_bar.text.setFocus()
        self.search_bar.text.selectAll()

    def report_error(self, exc: BaseException) -> None:
        """Every error of a background task ends here: shown, never raised into Qt."""
        self.info_label.setText("")
        if isinstance(exc, ModelUnavailableError):
            self.last_error = str(exc)
            self.grid.show_message("Search needs the model. Browsing, dates and folders still work.", error=True)
            self.setup.model_missing(str(exc), ask_now=True)
            return
        if isinstance(exc, PhotolensError):
            message = str(exc)
        else:
            self.unexpected_errors.append(exc)
            message = f"Unexpected error: {exc!r}"
            log.error("unexpected error: %r", exc)
        self.last_error = message
        self.grid.show_message(message, error=True)

    # ------------------------------------------------------------------ startup and shutdown
    def _start(self) -> None:
        self.browser.show_first_page()  # last run's first page, painted while the listing is read
        self.browser.browse(None)  # photos first (the sidebar's counts can wait a moment)
        self.indexing.refresh_library()
        if self._check_model_on_start:
            self.setup.check_model()
        if self.settings.resume_index:
            self.info_label.setText("Resuming the interrupted indexing run…")
            self.indexing.start_index()
        QTimer.singleShot(10_000, self.setup.prune_thumbnail_cache)  # keep the disk cache within its size

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Cancel indexing and background work; if something still runs after a short wait, hide now and
        finish closing when it is done (the library is never closed under a running task)."""
        if not self.closing:
            self.closing = True
            if self.index.running:
                self.settings.resume_index = True  # the next start resumes this run
                self.index.cancel()
            self.feeder.stop()
            self.thumbnails.cancel_pending()
            self.indexing.watcher.stop()
            gui_settings.save_settings(self.settings)
            gui_settings.save_window_state(bytes(self.saveGeometry().data()), bytes(self.saveState().data()),
                                           bytes(self.splitter.saveState().data()))
        idle = self.runner.shutdown(CLOSE_WAIT_MS) and self.index.wait(0 if not self.index.running else CLOSE_WAIT_MS)
        if not idle:
            event.ignore()
            self.hide()
            QTimer.singleShot(100, self.close)  # try again until the work has stopped
            return
        super().closeEvent(event)
        self.closed.emit()

    @property
    def work_running(self) -> bool:
        return self.index.running or self.runner.pending > 0
