"""Shared pieces of the GUI tests: an indexed library of real photo files, a window factory on
synchronous pools (Picard's FakeThreadPool idea), and waiting helpers. Imported by the test_gui_* modules."""

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


@pytest.fixture
def make_window(qtbot, tmp_path: Path):
    """``make_window(library, **kwargs)``: a shown MainWindow on synchronous pools, closed at teardown."""
    from photolens.gui.lens_adapter import LensAdapter
    from photolens.gui.main_window import MainWindow
    from photolens.gui.settings import GuiSettings
    from photolens.gui.workers import Pools

    windows = []

    def factory(library, lens_service=None, check_model_on_start: bool = False, pools=None, settings=None):
        adapter = LensAdapter(library, service=lens_service, discover=False)
        window = MainWindow(library, settings or GuiSettings(), pools or Pools.synchronous(), adapter,
                            thumbnail_dir=str(tmp_path / "thumbs"), check_model_on_start=check_model_on_start)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield factory
    for window in windows:
        if window.index.running:
            window.index.cancel()
            window.index.wait(10_000)


def grid_names(window) -> list[str]:
    return [r.name for r in window.model.rows()]


def test_fixture_library_has_photos_and_a_failure(gui_library, photo_root: Path):
    status = gui_library.status()
    assert status["photos"] == 14 and status["embedded"] == 13 and status["failed"] == 1
    assert gui_library.roots() == [str(photo_root)]
