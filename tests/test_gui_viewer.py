"""The viewer (double-click/Enter, fit and 100 %, previous/next, details, more like this, back), the photo
context menu, "Photo…" opening a file picker, folder watching without F5, the weak-match line on search
results, lens import/export, cluster names, the wheel over strips, and the launcher's command line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent

from photolens.gui.dialogs import ask
from tests.test_gui_lenses import FakeLensService
from tests.test_gui_support import db_allowed, grid_names

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["tests.test_gui_support"]  # shared fixtures: gui_library, photo_root, make_window


def wait_rows(qtbot, window, n: int) -> None:
    qtbot.waitUntil(lambda: window.model.rowCount() == n and not window.feeder.busy, timeout=10_000)


def test_viewer_opens_on_double_click_zooms_steps_and_goes_back(qtbot, make_window, gui_library):
    window = make_window(gui_library)
    wait_rows(qtbot, window, 13)
    names = grid_names(window)
    window.grid.view.activated.emit(window.model.index(2, 0))  # what double-click and Enter emit
    assert window.page == "viewer"
    viewer = window.viewer
    assert viewer.title.text().startswith(f"{names[2]}   (3 of 13)")
    from PIL import Image

    with Image.open(viewer.row.path) as image:
        width = image.width
    qtbot.waitUntil(lambda: viewer.image.source_width == width and viewer.image.item.pixmap().width() == width,
                    timeout=5000)  # the full-size image, decoded off the GUI thread
    assert viewer.details.title.text() == names[2]  # the details, beside the photo
    viewer.image.actual_size()
    assert viewer.image.scale_factor == pytest.approx(1.0)
    assert viewer.zoom_label.text() == "100 %"
    viewer.image.fit_to_window()
    view, pixmap = viewer.image.viewport().size(), viewer.image.item.pixmap()
    fit = min(view.width() / pixmap.width(), view.height() / pixmap.height())
    assert viewer.image.scale_factor == pytest.approx(fit, rel=0.05)
    qtbot.keyClick(viewer, Qt.Key.Key_Right)
    assert viewer.row.name == names[3] and viewer.title.text().startswith(f"{names[3]}   (4 of 13)")
    qtbot.keyClick(viewer, Qt.Key.Key_Left)
    qtbot.keyClick(viewer, Qt.Key.Key_Left)
    assert viewer.row.name == names[1]
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    assert window.page == "grid" and window.grid.current_row().name == names[1]  # the grid follows


def test_more_like_this_from_the_viewer_and_the_context_menu(qtbot, make_window, gui_library, photo_root: Path):
    window = make_window(gui_library)
    wait_rows(qtbot, window, 13)
    window.photos.view(window.model.rows()[0])
    first = window.viewer.row
    window.viewer.details.more_button.click()
    assert window.page == "grid"
    qtbot.waitUntil(lambda: window.search_bar.chip.path == first.path and window.model.rowCount() == 12,
                    timeout=10_000)
    window.grid.select_row(0)
    menu = window.photos.context_menu(QPoint(10, 10), window.grid.selected_rows())
    labels = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert labels == ["View", "More like this", "Open in the system app", "Show in folder", "Copy path", "Export…"]
    menu.close()


def test_open_without_a_system_app_says_so(qtbot, make_window, gui_library):
    window = make_window(gui_library)
    wait_rows(qtbot, window, 13)
    window.details._opener = lambda path: False  # no launcher on this system
    window.grid.select_row(0)
    window.details.open_button.click()
    assert "No application is set up to open" in window.grid.banner.text() and window.grid.banner.isVisible()


def test_photo_button_opens_a_file_picker_and_searches_like_the_photo(qtbot, make_window, gui_library,
                                                                       photo_root: Path, monkeypatch):
    photo = str(photo_root / "photo_006.jpg")
    monkeypatch.setattr(ask, "pick_file", lambda *a, **k: photo)
    window = make_window(gui_library)
    wait_rows(qtbot, window, 13)
    window.search_bar.chip.click()
    qtbot.waitUntil(lambda: window.search_bar.chip.path == photo and window.model.rowCount() == 12, timeout=10_000)
    assert window.grid.title.text().startswith("Results") and "like photo_006.jpg" in window.grid.title.text()


def test_folder_watching_picks_up_new_and_removed_photos(qtbot, make_window, gui_library, photo_root: Path):
    window = make_window(gui_library)
    wait_rows(qtbot, window, 13)
    qtbot.waitUntil(lambda: str(photo_root / "sub") in window.indexing.watcher.folders, timeout=5000)
    window.indexing.watcher._timer.setInterval(100)
    shutil.copy(photo_root / "trip" / "paris.jpg", photo_root / "sub" / "paris copy.jpg")
    qtbot.waitUntil(lambda: "paris copy.jpg" in grid_names(window), timeout=20_000)
    os.remove(photo_root / "photo_002.jpg")
    qtbot.waitUntil(lambda: "photo_002.jpg" not in grid_names(window) and window.model.rowCount() == 13,
                    timeout=20_000)
    assert not window.index.running or window.index.worker is not None


@dataclass
class FakeHit:
    """A SearchHit as the relevance work defines it: calibrated ``score``, raw ``cosine``, ``match`` flag."""

    photo_id: int
    path: str
    score: float
    cosine: float
    match: bool


def test_weak_results_fill_the_grid_below_the_line(qtbot, make_window, gui_library, monkeypatch):
    from photolens.retrieval import service

    real = service.calibrated_search
    matches = {"n": 3}

    def flagged(*args, **kwargs):
        outcome = real(*args, **kwargs)
        outcome.hits = [FakeHit(h.photo_id, h.path, h.score, h.score, n < matches["n"])
                        for n, h in enumerate(outcome.hits)]
        return outcome

    monkeypatch.setattr(service, "calibrated_search", flagged)
    window = make_window(gui_library)
    wait_rows(qtbot, window, 13)
    window.search_bar.text.setText("a red car")
    window.search_bar.submit()
    wait_rows(qtbot, window, 13)
    assert window.model.first_weak == 3 and window.model.weak_count == 10
    assert "3 good matches; weaker results follow" in window.grid.banner.text()
    matches["n"] = 0  # only weak results: the grid is still full, and says so
    window.search_bar.text.setText("a blue boat")
    window.search_bar.submit()
    qtbot.waitUntil(lambda: "blue boat" in window.grid.title.text(), timeout=10_000)
    wait_rows(qtbot, window, 13)
    assert window.model.weak_count == 13 and "No strong match" in window.grid.banner.text()


def test_lens_export_then_import(qtbot, make_window, gui_library, tmp_path: Path, monkeypatch):
    from photolens.lenses.service import LensService

    service = LensService(gui_library)
    window = make_window(gui_library, lens_service=service)
    qtbot.waitUntil(lambda: window.lens_bar.combo.findData("weather") > 0, timeout=10_000)
    target = tmp_path / "weather.toml"
    monkeypatch.setattr(ask, "pick_save_file", lambda *a, **k: str(target))
    window.lens_ctl.export_lens("weather")
    assert target.is_file() and "sunny" in target.read_text()
    renamed = tmp_path / "sky.toml"
    renamed.write_text(target.read_text().replace('name = "weather"', 'name = "sky"'))
    monkeypatch.setattr(ask, "pick_file", lambda *a, **k: str(renamed))
    window.lens_ctl.import_lens()
    qtbot.waitUntil(lambda: window.lens_bar.lens == "sky", timeout=10_000)
    with db_allowed():
        assert "sky" in [d.name for d in service.list_lenses()]
    assert window.search_bar.lens_chip.isVisibleTo(window) and "sky" in window.search_bar.lens_chip.text()
    window.search_bar.lens_chip.click()  # one click stops using the lens
    assert window.lens_bar.lens is None and not window.search_bar.lens_chip.isVisibleTo(window)


def test_cluster_titles_keep_only_words_with_weight():
    from photolens.gui.lens_adapter import meaningful_names

    assert meaningful_names([("red", 0.87), ("blue", 0.04), ("green", 0.02)]) == ["red"]
    assert meaningful_names([("red", 0.95), ("orange", 0.49), ("pink", 0.43)]) == ["red"]
    assert meaningful_names([("red", 0.61), ("pink", 0.55), ("grey", 0.20)]) == ["red", "pink"]
    assert meaningful_names([("red", -0.1), ("blue", -0.2)]) == ["red"]
    assert meaningful_names([]) == []


def test_the_wheel_over_a_strip_scrolls_the_page(qtbot, make_window, gui_library):
    window = make_window(gui_library, lens_service=FakeLensService(gui_library))
    wait_rows(qtbot, window, 13)
    window.resize(900, 420)
    window.lens_bar.set_lens("parity")
    with qtbot.waitSignal(window.lens_ctl.sections_shown, timeout=5000):
        window.lens_bar.set_mode("groups")
    page = window.sections_view.verticalScrollBar()
    qtbot.waitUntil(lambda: page.maximum() > 0, timeout=5000)
    strip = window.sections_view.sections[0].view
    before_page, before_strip = page.value(), strip.horizontalScrollBar().value()
    event = QWheelEvent(QPointF(20, 20), QPointF(strip.viewport().mapToGlobal(QPoint(20, 20))), QPoint(0, 0),
                        QPoint(0, -120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    from PySide6.QtWidgets import QApplication

    QApplication.sendEvent(strip.viewport(), event)
    assert page.value() > before_page and strip.horizontalScrollBar().value() == before_strip


def _launcher(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    code = "import sys; from photolens.gui.app import main; sys.exit(main(argv=['photolens-gui', *sys.argv[1:]]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          timeout=120, cwd=ROOT)


def test_launcher_version_usage_and_missing_display(tmp_path: Path):
    from photolens import __version__

    env = dict(os.environ, PYTHONPATH=str(ROOT), PHOTOLENS_DATA_DIR=str(tmp_path))
    env.pop("QT_QPA_PLATFORM", None)
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    version = _launcher(["--version"], env)
    assert version.returncode == 0 and version.stdout.strip() == f"photolens {__version__}"
    bad = _launcher(["--bogus"], env)
    assert bad.returncode == 2 and "usage: photolens-gui" in bad.stderr and "--bogus" in bad.stderr
    headless = _launcher([], env)
    assert headless.returncode == 1 and "needs a graphical display" in headless.stderr
    assert "Reinstalling" not in headless.stderr + headless.stdout
    cli = subprocess.run([sys.executable, "-m", "photolens", "gui"], capture_output=True, text=True, env=env,
                         timeout=120, cwd=ROOT)
    assert cli.returncode != 0 and "needs a graphical display" in cli.stderr
    gone = _launcher([], dict(env, DISPLAY=":97"))  # no X server there
    assert gone.returncode == 1 and ("Cannot connect to the X display ':97'" in gone.stderr
                                     or "platform plugin cannot load" in gone.stderr)
