"""The window's menus and toolbar, declared once. Every entry is a QAction whose slot ignores the
``triggered(bool)`` argument (a slot with a default parameter would otherwise receive ``checked``, which
is how Library → Model… once crashed). Tests trigger every action this module creates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSize
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QToolBar

Shortcut = str | QKeySequence.StandardKey | None


def _current_path(window: Any) -> str | None:
    row = window.viewer.row if window.page == "viewer" else window.grid.current_row()
    return row.path if row is not None else None


def _with_photo(window: Any, act: Callable[[str], Any]) -> Callable[[], None]:
    def run() -> None:
        path = _current_path(window)
        if path is None:
            window.info_label.setText("Select a photo first.")
        else:
            act(path)
    return run


def build_actions(window: Any) -> dict[str, QAction]:
    """Create the menus and the toolbar of ``window``; returns the actions by name."""
    actions: dict[str, QAction] = {}

    def action(menu: Any, key: str, text: str, slot: Callable[[], Any], shortcut: Shortcut = None) -> QAction:
        act = QAction(text, window)
        act.setObjectName(f"action_{key}")
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(lambda _checked=False: slot())
        menu.addAction(act)
        actions[key] = act
        return act

    w = window
    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    action(file_menu, "add_folder", "Add folder…", w.indexing.choose_folder, QKeySequence.StandardKey.Open)
    action(file_menu, "export", "Export selected…", w.photos.export_selected, "Ctrl+E")
    action(file_menu, "settings", "Settings…", w.setup.open_settings, QKeySequence.StandardKey.Preferences)
    file_menu.addSeparator()
    action(file_menu, "quit", "Quit", w.close, QKeySequence.StandardKey.Quit)

    library_menu = bar.addMenu("&Library")
    action(library_menu, "index", "Index now", lambda: w.indexing.start_index(), "F5")
    action(library_menu, "pause", "Pause / resume indexing", w.indexing.toggle_pause)
    action(library_menu, "cancel", "Cancel indexing", w.indexing.cancel)
    library_menu.addSeparator()
    action(library_menu, "failures", "Unreadable files…", w.indexing.show_failures)
    action(library_menu, "retry", "Try unreadable files again", w.indexing.retry_failed)
    library_menu.addSeparator()
    action(library_menu, "model", "Model…", w.setup.show_model_dialog)

    w.lens_menu = bar.addMenu("L&ens")
    action(w.lens_menu, "lens_new", "New lens…", w.lens_ctl.open_editor)
    action(w.lens_menu, "lens_edit", "Edit lens…",
           lambda: w.lens_ctl.open_editor(w.lens_bar.lens) if w.lens_bar.lens else
           w.info_label.setText("Choose a lens to edit first."))
    action(w.lens_menu, "lens_import", "Import lens file…", w.lens_ctl.import_lens)
    action(w.lens_menu, "lens_export", "Export lens…", w.lens_ctl.export_lens)
    action(w.lens_menu, "lens_clear", "Stop using the lens", w.lens_ctl.clear_lens)

    view_menu = bar.addMenu("&View")
    action(view_menu, "find", "Find", w.focus_search, QKeySequence.StandardKey.Find)
    action(view_menu, "view_photo", "View photo", w.photos.view, "Ctrl+Return")
    action(view_menu, "zoom_in", "Zoom in", lambda: w.grid.set_zoom(w.grid.delegate.size + 32),
           QKeySequence.StandardKey.ZoomIn)
    action(view_menu, "zoom_out", "Zoom out", lambda: w.grid.set_zoom(w.grid.delegate.size - 32),
           QKeySequence.StandardKey.ZoomOut)
    action(view_menu, "all_photos", "All photos", lambda: w.sidebar.select_folder(None), "Ctrl+1")

    photo_menu = bar.addMenu("&Photo")
    action(photo_menu, "more_like_this", "More like this", _with_photo(w, w.browser.more_like_this), "Ctrl+M")
    action(photo_menu, "open_external", "Open in the system app", _with_photo(w, w.details.open_path))
    action(photo_menu, "reveal", "Show in folder", _with_photo(w, w.details.reveal_path))
    action(photo_menu, "copy_path", "Copy path",
           lambda: w.photos.copy_paths(w.grid.selected_rows() or ([w.viewer.row] if w.viewer.row else []))
           if (w.grid.selected_rows() or w.viewer.row) else w.info_label.setText("Select a photo first."),
           "Ctrl+Shift+C")

    help_menu = bar.addMenu("&Help")
    action(help_menu, "data_locations", "Where is my data?", w.setup.show_data_locations)
    action(help_menu, "about", "About photolens", w.setup.show_about)

    toolbar = QToolBar("Main")
    toolbar.setObjectName("mainToolbar")
    toolbar.setMovable(False)
    toolbar.setIconSize(QSize(16, 16))
    toolbar.addAction(actions["add_folder"])
    toolbar.addWidget(w.top_bar)
    w.addToolBar(toolbar)
    w.toolbar = toolbar
    return actions
