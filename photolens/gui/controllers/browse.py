"""Browse and search: what the grid shows (a folder, the whole library, search results, a lens section),
the details of the current photo, and saved searches.

Listings are read on the ``db`` pool and searches run on the ``model`` pool, both on the runner's
``photos`` channel: a newer listing makes an older one stale, so a slow search never overwrites the
folder the user clicked since. Rows reach the model in bounded batches (the first screenful at once).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QPixmap

from photolens import browse
from photolens.browse import PhotoRow
from photolens.gui import first_page
from photolens.gui.dialogs import ask
from photolens.gui.models import core_sort
from photolens.gui.search_adapter import SearchResult, run_search
from photolens.gui.widgets.search_bar import SearchRequest

SAVED_SEARCHES_KEY = "gui.saved_searches"
FIRST_CHUNK = 600  # rows shown in the first pass: more than a screenful at the smallest zoom
SORT_OFF_THREAD = 20_000  # bigger listings are sorted again on the db pool, not on the GUI thread


def _saved_list(value: Any) -> list[dict]:
    return [s for s in value if isinstance(s, dict)] if isinstance(value, list) else []


def update_saved_searches(db: Any, change: Callable[[list[dict]], list[dict]]) -> list[dict]:
    """Read, change and write the saved searches in one task (they live in the library database)."""
    searches = change(_saved_list(browse.get_setting(db, SAVED_SEARCHES_KEY, [])))
    browse.set_setting(db, SAVED_SEARCHES_KEY, searches)
    return searches


class BrowseController(QObject):
    photos_shown = Signal()  # the grid got a new list (browse, search or section) and it is all there

    def __init__(self, window: Any):
        super().__init__(window)
        self.w = window
        self.folder: str | None = None
        self.request: SearchRequest | None = None
        self.section: Any = None
        self.saved: list[dict] = []
        self._shown_title = ""
        self._preview_key: str | None = None
        self.provisional = False  # the grid shows the remembered first page until the listing lands
        self._saved_page: list[int] = []

    # ------------------------------------------------------------------ the remembered first page
    def show_first_page(self) -> None:
        """At start: paint last run's first page of "All photos" while the listing is read."""
        url, sort = self.w.library.db.url, self.w.settings.sort
        self.w.runner.run("first-page", "io", lambda: first_page.load_page(url, sort), self._first_page_ready)

    def _first_page_ready(self, rows: list[PhotoRow]) -> None:
        w = self.w
        if not rows or self._shown_title or self.folder is not None or self.request is not None:
            return  # the real listing (or something else) is there already
        self.provisional = True
        self._shown_title = "All photos"
        w.grid.set_title("All photos")
        w.grid.set_sort(w.settings.sort, False)
        w.model.set_rows(rows, sort=w.settings.sort)

    def _remember_first_page(self, rows: list[PhotoRow]) -> None:
        ids = [r.id for r in rows[: first_page.PAGE_ROWS]]
        if ids == self._saved_page:
            return
        self._saved_page = ids
        url, sort, page = self.w.library.db.url, self.w.settings.sort, list(rows[: first_page.PAGE_ROWS])
        self.w.runner.run("first-page-save", "io", lambda: first_page.save_page(url, sort, page), lambda _r: None)

    # ------------------------------------------------------------------ what is shown
    def reload(self) -> None:
        """Show again whatever is current (search results, a folder, lens sections)."""
        w = self.w
        if w.lens_bar.mode != "photos" and w.lens_bar.lens:
            w.lens_ctl.show_lens_view()
        elif self.request is not None:
            self.search(self.request)
        elif self.section is not None:
            w.lens_ctl.open_section(self.section)
        else:
            self.browse(self.folder)

    def folder_selected(self, folder: str | None) -> None:
        self.folder = folder
        self.w.search_bar.scope = folder
        if self.request is not None:
            self.search(dataclasses.replace(self.request, scope=folder))
        elif self.w.lens_bar.mode != "photos" and self.w.lens_bar.lens:
            self.w.lens_ctl.show_lens_view()
        else:
            self.browse(folder)

    def clear_search(self) -> None:
        """The search bar was emptied (⊗, or every word deleted): back to browsing, the query forgotten."""
        self.request = None
        self.section = None
        self.browse(self.folder)

    def browse(self, folder: str | None) -> None:
        """List a folder (recursive) or the whole library, in the chosen order (newest first by default)."""
        w = self.w
        self.folder = folder
        self.request = None
        self.section = None
        if w.lens_bar.mode != "photos" and w.lens_bar.lens:
            w.lens_ctl.show_lens_view()
            return
        sort = w.settings.sort if w.settings.sort != "relevance" else "newest"
        mode, descending = core_sort(sort)
        title = (os.path.basename(folder.rstrip(os.sep)) or folder) if folder else "All photos"
        db = w.library.db
        self.show_rows(title, lambda: browse.list_photos(db, folder, sort=mode, descending=descending), sort,
                       relevance=False)

    def search(self, request: SearchRequest) -> None:
        w = self.w
        request = dataclasses.replace(request, scope=self.folder)
        self.request = request
        self.section = None
        w.search_bar.set_request(request)
        if w.lens_bar.mode != "photos":
            w.lens_bar.set_mode("photos")  # results are a list of photos
        library, lenses, lens = w.library, w.lenses, w.lens_bar.lens
        limit = w.settings.result_limit
        busy = "Searching…" if library.embedder_loaded else "Loading the model and searching…"
        through = f" through {lens}" if lens and lenses.available else ""
        self.show_rows(f"Results{through}: {request.describe()}",
                       lambda: run_search(library, request, limit, lens, lenses), "relevance", relevance=True,
                       kind="model", busy=busy)

    def more_like_this(self, path: str) -> None:
        w = self.w
        row = w.grid.current_row()
        pixmap = w.thumbnails.pixmap(row.cache_key) if row is not None and row.path == path else None
        w.search_bar.clear()
        w.search_bar.set_photo(path, pixmap)
        self.search(w.search_bar.request())

    def show_rows(self, title: str, fetch: Callable[[], list[PhotoRow] | SearchResult], sort: str, relevance: bool,
                  kind: str = "db", busy: str = "") -> None:
        """Fetch rows off the GUI thread, then show them under ``title``. Reloading the same listing (e.g.
        while indexing) keeps the current photo and the scroll position."""
        w = self.w
        w.grid.show_message(busy)
        w.info_label.setText(busy)
        w.thumbnails.cancel_pending()
        w.show_page("grid")
        w.runner.run("photos", kind, fetch, lambda result: self._rows_ready(title, sort, relevance, result),
                     w.report_error)

    def _rows_ready(self, title: str, sort: str, relevance: bool, result: list[PhotoRow] | SearchResult) -> None:
        w = self.w
        if isinstance(result, SearchResult):
            rows, notes, weak = result.rows, list(result.notes), result.weak_ids
        else:
            rows, notes, weak = result, [], frozenset()
        same = title == self._shown_title and w.model.rowCount() > 0
        current = w.grid.current_row() if same else None
        keep_id = current.id if current is not None else None
        keep_scroll = w.grid.view.verticalScrollBar().value() if same else 0
        w.info_label.setText("")
        self.provisional = False
        self._shown_title = title
        w.grid.set_title(title)
        w.grid.set_sort(sort, relevance)
        w.model.set_rows([], sort=sort, weak=weak)
        matches = len(rows) - sum(1 for r in rows if r.id in weak)
        if weak and matches:
            notes.append(f"{matches:,} good match{'es' if matches != 1 else ''}; weaker results follow, dimmed, "
                         "after the orange line.")
        if not rows:
            notes.append("No photos here yet." if not relevance else "No matching photos.")
        w.grid.show_message(" ".join(notes))
        if title == "All photos" and not relevance and self.folder is None:
            self._remember_first_page(rows)
        if relevance and rows and weak:  # matches first, then weak ones (the producer's order)
            rows = [r for r in rows if r.id not in weak] + [r for r in rows if r.id in weak]

        def finished() -> None:
            if keep_id is not None:
                row = w.model.row_of_id(keep_id)
                if row >= 0:
                    w.grid.view.selectionModel().setCurrentIndex(
                        w.model.index(row, 0), w.grid.view.selectionModel().SelectionFlag.ClearAndSelect)
            w.grid.view.verticalScrollBar().setValue(keep_scroll)
            if not w.grid.view.currentIndex().isValid():
                w.details.show_details(None)
            self.photos_shown.emit()

        w.feeder.feed(rows, w.model.append_rows, finished, first_chunk=FIRST_CHUNK)

    @property
    def shown_title(self) -> str:
        return self._shown_title

    def set_sort(self, mode: str) -> None:
        w = self.w
        if mode != "relevance":
            w.settings.sort = mode
        if self.request is not None or self.section is not None or w.model.rowCount() < SORT_OFF_THREAD:
            w.model.sort_by(mode)
        else:
            self.browse(self.folder)  # a big listing is sorted again off the GUI thread

    # ------------------------------------------------------------------ details
    def show_photo(self, row: PhotoRow | None) -> None:
        w = self.w
        if row is None:
            w.details.show_details(None)
            return
        pixmap = w.thumbnails.pixmap(row.cache_key)
        db, key = w.library.db, w.model_key

        def done(details: browse.PhotoDetails | None) -> None:
            w.details.show_details(details, key, w.setup.model_ready is not False)
            if pixmap is not None:
                w.details.set_preview(pixmap)  # at once; the large preview replaces it
            if details is not None:
                self._preview_key = row.cache_key
                w.thumbnails.request_preview(row.cache_key, details.path)

        w.runner.run("details", "db", lambda: browse.photo_details(db, row.id), done, w.report_error)

    def preview_ready(self, key: str, pixmap: QPixmap) -> None:
        if key == self._preview_key and not pixmap.isNull():
            self.w.details.set_preview(pixmap)

    # ------------------------------------------------------------------ saved searches
    def set_saved(self, searches: list[dict]) -> None:
        self.saved = _saved_list(searches)
        self.w.sidebar.set_saved_searches(self.saved)

    def ask_save_search(self, request: SearchRequest) -> None:
        ask.ask_text(self.w, "Save search", "Name:", request.describe(), lambda name: self.save_search(request, name))

    def save_search(self, request: SearchRequest, name: str) -> None:
        entry = {"name": name, **request.as_dict()}
        self._change_saved(lambda searches: [s for s in searches if s.get("name") != name] + [entry])

    def remove_saved_search(self, search: dict) -> None:
        self._change_saved(lambda searches: [s for s in searches if s.get("name") != search.get("name")])

    def _change_saved(self, change: Callable[[list[dict]], list[dict]]) -> None:
        db = self.w.library.db
        self.w.runner.run("saved-searches", "db", lambda: update_saved_searches(db, change), self.set_saved,
                          self.w.report_error)

    def saved_search_selected(self, search: dict) -> None:
        request = SearchRequest.from_dict(search)
        self.folder = request.scope
        self.w.search_bar.set_request(request)
        self.search(request)
