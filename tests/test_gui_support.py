"""Shared pieces of the GUI tests: an indexed library of real photo files, a window factory on
synchronous pools (Picard's FakeThreadPool idea) or on the real pools, and waiting helpers. Imported by
the test_gui_* modules.

Every window runs with the GUI-thread database guard installed (:mod:`photolens.gui.guard`): a database
session opened on the GUI thread outside a task fails the test. Test code that reads the database itself
(to compute expected answers) wraps that in ``with db_allowed():``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.images import exif_jpeg, make_photo_set, pattern


def build_photos(root: Path) -> dict[str, Path]:
    """12 generated photos in root/ and root/sub/, a dated photo with camera and GPS in root/trip/, one
    broken file."""
    make_photo_set(root, count=12)
    dated = exif_jpeg(root / "trip" / "paris.jpg", pattern(60, (160, 120)), taken="2019:05:06 07:08:09",
                      make="Canon", model="Canon EOS 5D", gps=(48.8584, 2.2945))
    broken = root / "broken.jpg"
    broken.write_bytes(b"this is not a jpeg" * 20)
    return {"dated": dated, "broken": broken}


@pytest.fixture
def photo_root(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    build_photos(root)
    return root


@pytest.fixture
def gui_library(photo_root: Path, library_factory):
    library = library_factory()
    for _ in library.index([str(photo_root)]):
        pass
    return library


def db_allowed():
    """Let the test itself read the database on the GUI thread (the guard stays on for the window)."""
    from photolens.gui import guard

    return guard.allowed()


@pytest.fixture
def make_window(qtbot, tmp_path: Path):
    """``make_window(library, **kwargs)``: a shown MainWindow (synchronous pools unless ``pools`` is given,
    e.g. ``Pools.create()``), with the GUI-thread database guard on; closed at teardown."""
    from photolens.gui import guard
    from photolens.gui.lens_adapter import LensAdapter
    from photolens.gui.main_window import MainWindow
    from photolens.gui.settings import GuiSettings
    from photolens.gui.tasks import Pools

    windows = []

    def factory(library, lens_service=None, check_model_on_start: bool = False, pools=None, settings=None,
                lens_adapter=None):
        guard.install()  # from the first window on (fixtures before it build libraries on this thread)
        adapter = lens_adapter or LensAdapter(library, service=lens_service, discover=False)
        window = MainWindow(library, settings or GuiSettings(), pools or Pools.synchronous(), adapter,
                            thumbnail_dir=str(tmp_path / "thumbs"), check_model_on_start=check_model_on_start)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield factory
    try:
        for window in windows:
            if window.index.running:
                window.index.cancel()
                window.index.wait(10_000)
            window.runner.shutdown(10_000)
        assert not [e for w in windows for e in w.unexpected_errors], "unexpected errors reached the window"
    finally:
        guard.uninstall()


def grid_names(window) -> list[str]:
    return [r.name for r in window.model.rows()]


def test_fixture_library_has_photos_and_a_failure(gui_library, photo_root: Path):
    status = gui_library.status()
    assert status["photos"] == 14 and status["embedded"] == 13 and status["failed"] == 1
    assert gui_library.roots() == [str(photo_root)]
