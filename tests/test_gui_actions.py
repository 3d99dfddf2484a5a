"""Every menu, toolbar, lens-menu and photo context-menu action, triggered on an empty and on an indexed
library (synchronous pools, and once on the real pools): no exception may reach Qt's handler, no database
session may open on the GUI thread (the guard raises), and no unexpected error may reach the window."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QDialog, QMenu, QMessageBox

from photolens.gui.dialogs import ask
from photolens.gui.tasks import Pools

pytest_plugins = ["tests.test_gui_support"]  # shared fixtures: gui_library, photo_root, make_window


@pytest.fixture
def no_pickers(monkeypatch):
    """File pickers answer "cancelled"; opening in the system app or a file manager is recorded."""
    asked = []
    monkeypatch.setattr(ask, "pick_folder", lambda *a, **k: asked.append(("folder", a[1])) or "")
    monkeypatch.setattr(ask, "pick_file", lambda *a, **k: asked.append(("file", a[1])) or "")
    monkeypatch.setattr(ask, "pick_save_file", lambda *a, **k: asked.append(("save", a[1])) or "")
    return asked


def close_popups() -> int:
    """Close every dialog, message box and menu the last action opened; returns how many."""
    closed = 0
    for widget in QApplication.topLevelWidgets():
        if widget.isVisible() and isinstance(widget, QDialog | QMessageBox | QMenu):
            widget.close() if isinstance(widget, QMenu) else widget.reject()
            closed += 1
    return closed


def all_actions(window) -> list:
    actions = list(window.actions_by_name.values())
    actions += [a for a in window.toolbar.actions() if a not in actions and not a.isSeparator()
                and window.toolbar.widgetForAction(a) is None]
    actions += [a for a in window.lens_bar.menu_button.menu().actions() if not a.isSeparator()]
    quit_action = window.actions_by_name["quit"]
    return [a for a in actions if a is not quit_action] + [quit_action]  # quitting last


def trigger_everything(qtbot, window) -> list[str]:
    """Trigger each action (then the photo context menu's), closing what it opens; returns their names."""
    opener_calls = []
    window.details._opener = lambda path: opener_calls.append(path) or True
    window.details._revealer = lambda path: opener_calls.append(path) or True
    names = []
    with qtbot.captureExceptions() as exceptions:
        if window.model.rowCount():  # the photo context menu first (Quit comes last of all)
            window.grid.select_row(0)
            menu = window.photos.context_menu(window.grid.view.mapToGlobal(window.grid.view.rect().center()),
                                              window.grid.selected_rows())
            for action in [a for a in menu.actions() if not a.isSeparator()]:
                names.append(f"photo: {action.text()}")
                action.trigger()
                qtbot.wait(20)
                close_popups()
                if window.page == "viewer":
                    window.viewer.close_viewer()
            window.grid.select_row(0)
        for action in all_actions(window):
            names.append(action.text())
            action.trigger()
            qtbot.wait(20)
            close_popups()
            if window.page == "viewer" and action is not window.actions_by_name["view_photo"]:
                window.viewer.close_viewer()
    assert not exceptions, [f"{e[0].__name__}: {e[1]}" for e in exceptions]
    assert not window.unexpected_errors, window.unexpected_errors
    return names


def test_every_action_on_an_empty_library(qtbot, make_window, library_factory, no_pickers):
    from photolens.lenses.service import LensService

    library = library_factory()
    window = make_window(library, lens_service=LensService(library))
    qtbot.waitUntil(lambda: window.page == "welcome", timeout=5000)
    names = trigger_everything(qtbot, window)
    assert "Model…" in names and "Quit" in names and len(names) >= 25
    assert ("folder", "Add a photo folder") in no_pickers  # "Add folder…" asked for a folder
    assert not window.isVisible()  # Quit closed the window


@pytest.mark.parametrize("real_pools", [False, True], ids=["sync-pools", "real-pools"])
def test_every_action_on_an_indexed_library(qtbot, make_window, gui_library, photo_root: Path, no_pickers,
                                            real_pools):
    from photolens.lenses.service import LensService

    window = make_window(gui_library, lens_service=LensService(gui_library),
                         pools=Pools.create() if real_pools else None)
    qtbot.waitUntil(lambda: window.model.rowCount() == 13 and not window.feeder.busy, timeout=10_000)
    qtbot.waitUntil(lambda: window.lens_bar.combo.findData("weather") > 0, timeout=10_000)
    window.lens_bar.set_lens("weather")  # lens actions have a lens to act on
    window.grid.select_row(2)
    names = trigger_everything(qtbot, window)
    assert {"photo: View", "photo: More like this", "photo: Copy path"} <= set(names)
    copied = QApplication.clipboard().text()  # "Copy path": the path of a photo shown
    assert copied.startswith(str(photo_root)) and Path(copied).is_file()
    assert ("save", "Export the lens") in no_pickers
    assert not window.isVisible()


def test_model_action_opens_the_model_dialog(qtbot, make_window, gui_library):
    """The regression: Library → Model… raised TypeError (the menu's checked flag became the message)."""
    window = make_window(gui_library)
    with qtbot.captureExceptions() as exceptions:
        window.actions_by_name["model"].trigger()
    assert not exceptions
    assert window.setup.dialog is not None and window.setup.dialog.isVisible()
    assert gui_library.spec.text in window.setup.dialog.message.text()
    window.setup.dialog.reject()


def test_retry_failed_files_forgets_their_failure_and_indexes_them(qtbot, make_window, gui_library,
                                                                    photo_root: Path):
    from tests.images import pattern

    window = make_window(gui_library)
    qtbot.waitUntil(lambda: window.index_status.failures.isVisible(), timeout=5000)
    pattern(3, (64, 48)).save(photo_root / "broken.jpg", "JPEG")  # the file got repaired meanwhile
    with qtbot.waitSignal(window.index.finished, timeout=60_000):
        window.actions_by_name["retry"].trigger()
    qtbot.waitUntil(lambda: not window.index_status.failures.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: window.model.rowCount() == 14, timeout=10_000)
    assert "broken.jpg" in [r.name for r in window.model.rows()]
