"""What can be done with photos: the built-in viewer, the context menu (view, more like this, open in the
system app, show in folder, copy path, export the selection), export of a selection or a section, and
choosing a photo to search with."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import QListView, QMenu

from photolens import browse
from photolens.browse import PhotoRow
from photolens.gui.dialogs import ask
from photolens.gui.dialogs.export_dialog import ExportDialog
from photolens.gui.lens_adapter import Section
from photolens.gui.models import Roles
from photolens.gui.thumbnails import load_full_image


class PhotoActions(QObject):
    def __init__(self, window: Any):
        super().__init__(window)
        self.w = window
        self.menu: QMenu | None = None
        self.export_dialog: ExportDialog | None = None
        viewer = window.viewer
        viewer.closed.connect(self.close_viewer)
        viewer.image_wanted.connect(self._load_image)
        viewer.current_changed.connect(self._viewer_row)
        viewer.more_like_this.connect(self._more_like_this_from_viewer)
        viewer.context_menu_requested.connect(lambda pos: viewer.row and self.context_menu(pos, [viewer.row]))
        viewer.details.action_failed.connect(window.info_label.setText)

    # ------------------------------------------------------------------ the viewer
    def view(self, row: PhotoRow | None = None, rows: list[PhotoRow] | None = None) -> bool:
        """Open the viewer on ``row`` (the grid's current photo by default), stepping through ``rows``
        (the grid's list by default)."""
        w = self.w
        row = row or w.grid.current_row()
        rows = rows if rows is not None else w.model.rows()
        if row is None or not rows:
            w.info_label.setText("Select a photo to view first.")
            return False
        position = next((n for n, r in enumerate(rows) if r.id == row.id), 0)
        w.viewer.open(rows, position, w.thumbnails.pixmap(row.cache_key))
        w.show_page("viewer")
        return True

    def view_path(self, path: str) -> None:
        row = next((r for r in self.w.model.rows() if r.path == path), None)
        self.view(row)

    def close_viewer(self) -> None:
        w = self.w
        row = w.viewer.row
        w.runner.cancel("viewer")
        w.show_page("sections" if w.lens_bar.mode != "photos" and w.lens_bar.lens else "grid")
        if row is not None:  # the grid follows what was looked at
            n = w.model.row_of_id(row.id)
            if n >= 0:
                w.grid.select_row(n)
        w.grid.view.setFocus()

    def _load_image(self, row: PhotoRow) -> None:
        viewer = self.w.viewer

        def shown(image: QImage) -> None:
            viewer.set_image(row, QPixmap.fromImage(image))

        def failed(exc: BaseException) -> None:
            self.w.info_label.setText(f"Cannot show {row.name} at full size: {exc}")

        self.w.runner.run("viewer", "io", lambda: load_full_image(row.path), shown, failed)

    def _viewer_row(self, row: PhotoRow) -> None:
        w = self.w
        db, key = w.library.db, w.model_key
        w.runner.run("viewer-details", "db", lambda: browse.photo_details(db, row.id),
                     lambda details: w.viewer.set_details(details, key, w.setup.model_ready is not False),
                     w.report_error)

    def _more_like_this_from_viewer(self, path: str) -> None:
        self.close_viewer()
        self.w.browser.more_like_this(path)

    # ------------------------------------------------------------------ the context menu
    def grid_menu(self, global_pos: QPoint) -> QMenu | None:
        w = self.w
        index = w.grid.view.indexAt(w.grid.view.viewport().mapFromGlobal(global_pos))
        if index.isValid() and not w.grid.view.selectionModel().isSelected(index):
            w.grid.select_row(index.row())
        rows = w.grid.selected_rows()
        return self.context_menu(global_pos, rows) if rows else None

    def strip_menu(self, global_pos: QPoint, view: QListView) -> QMenu | None:
        index = view.indexAt(view.viewport().mapFromGlobal(global_pos))
        if index.isValid() and not view.selectionModel().isSelected(index):
            view.setCurrentIndex(index)
        rows = [i.data(Roles.Row) for i in view.selectionModel().selectedIndexes()]
        return self.context_menu(global_pos, rows, strip=view) if rows else None

    def context_menu(self, global_pos: QPoint, rows: list[PhotoRow], strip: QListView | None = None) -> QMenu:
        """View, more like this, open, show in folder, copy path(s), export the selection."""
        w = self.w
        first = rows[0]
        menu = QMenu(w)
        menu.setObjectName("photoMenu")
        strip_rows = [strip.model().index(i, 0).data(Roles.Row) for i in range(strip.model().rowCount())] \
            if strip is not None else None
        if w.page != "viewer":
            menu.addAction("View", lambda: self.view(first, strip_rows))
        more = menu.addAction("More like this", lambda: self._more_like_this_from_menu(first.path))
        more.setEnabled(w.setup.model_ready is not False)
        menu.addSeparator()
        menu.addAction("Open in the system app", lambda: w.details.open_path(first.path))
        menu.addAction("Show in folder", lambda: w.details.reveal_path(first.path))
        menu.addAction("Copy path" if len(rows) == 1 else f"Copy {len(rows):,} paths",
                       lambda: self.copy_paths(rows))
        menu.addSeparator()
        menu.addAction("Export…" if len(rows) == 1 else f"Export {len(rows):,} photos…",
                       lambda: self.open_export([r.path for r in rows], ""))
        self.menu = menu
        menu.popup(global_pos)
        return menu

    def _more_like_this_from_menu(self, path: str) -> None:
        if self.w.page == "viewer":
            self.close_viewer()
        self.w.browser.more_like_this(path)

    def copy_paths(self, rows: list[PhotoRow]) -> str:
        text = "\n".join(r.path for r in rows)
        QGuiApplication.clipboard().setText(text)
        self.w.info_label.setText("Copied " + (rows[0].path if len(rows) == 1 else f"{len(rows):,} paths"))
        return text

    def pick_photo(self) -> None:
        """The search bar's "Photo…" button: choose a photo file and search for photos like it."""
        path = ask.pick_file(self.w, "Search for photos like…", ask.PHOTO_FILTER)
        if path:
            self.w.search_bar.set_photo_and_search(path)

    # ------------------------------------------------------------------ export
    def export_selected(self) -> ExportDialog | None:
        w = self.w
        rows = w.grid.selected_rows() if w.page == "grid" else []
        if not rows and w.page == "sections":
            rows = w.sections_view.selected_rows()
        if not rows and w.page == "viewer" and w.viewer.row is not None:
            rows = [w.viewer.row]
        if not rows:
            w.info_label.setText("Select photos to export first.")
            return None
        return self.open_export([r.path for r in rows], "")

    def export_section(self, section: Section) -> None:
        db = self.w.library.db
        self.w.runner.run("export-list", "db", lambda: [r.path for r in browse.rows_in_order(db, section.photo_ids)],
                          lambda paths: self.open_export(paths, section.title), self.w.report_error)

    def open_export(self, paths: list[str], title: str) -> ExportDialog:
        dialog = ExportDialog(paths, self.w.runner, title, parent=self.w)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.export_dialog = dialog
        dialog.open()
        return dialog
