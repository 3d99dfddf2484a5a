"""The main window on a real indexed library (tiny model, synchronous pools): browsing, search order,
details, keyboard navigation, export, saved searches, settings."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent

from photolens import browse
from photolens.gui.main_window import PAGE_GRID, PAGE_WELCOME
from photolens.gui.widgets.search_bar import SearchRequest
from tests.test_gui_support import db_allowed, grid_names

pytest_plugins = ["tests.test_gui_support"]  # shared fixtures: gui_library, photo_root, make_window


def wait_rows(qtbot, window, n: int) -> None:
    qtbot.waitUntil(lambda: window.model.rowCount() == n and not window.feeder.busy, timeout=5000)


def test_startup_browses_whole_library_by_date(qtbot, make_window, gui_library):
    window = make_window(gui_library)
    wait_rows(qtbot, window, 13)
    assert window.stack.currentIndex() == PAGE_GRID
    names = grid_names(window)
    assert names[-1] == "paris.jpg"  # newest first: taken 2019; the others have no EXIF date, so their mtime (now)
    assert "broken.jpg" not in names
    assert window.grid.count_label.text() == "13 photos"
    assert window.sidebar.all_photos.text(1) == "13"
    counts = {item.text(0): item.text(1) for item in window.sidebar.folder_items()}
    assert counts["sub"] == "6" and counts["trip"] == "1"
    assert window.index_status.failures.isVisible() and "1" in window.index_status.failures.text()


def test_folder_selection_and_sort_by_name(qtbot, make_window, gui_library, photo_root: Path):
    window = make_window(gui_library)
    wait_rows(qtbot, window, 13)
    window.sidebar.select_folder(str(photo_root / "sub"))
    wait_rows(qtbot, window, 6)
    assert window.grid.title.text() == "sub"
    window.grid.sort_box.setCurrentIndex(window.grid.sort_box.findData("name"))
    assert grid_names(window) == [f"photo_{i:03d}.jpg" for i in (1, 3, 5, 7, 9, 11)]
    assert window.settings.sort == "name"


def test_text_search_shows_the_library_ranking_in_order(qtbot, make_window, gui_library):
    window = make_window(gui_library)
    wait_rows(qtbot, window, 13)
    with db_allowed():
        expected = [h.photo_id for h in gui_library.search("a red car - a dog", limit=200)]
    window.search_bar.text.setText("a red car - a dog")
    window.search_bar.submit()
    qtbot.waitUntil(lambda: window.grid.title.text().startswith("Results"), timeout=5000)
    wait_rows(qtbot, window, 13)
    assert [r.id for r in window.model.rows()] == expected
    scores = [r.score for r in window.model.rows()]
    assert scores == sorted(scores, reverse=True)
    assert window.grid.sort_box.currentData() == "relevance"


def test_search_in_a_folder_and_avoid_words(qtbot, make_window, gui_library, photo_root: Path):
    from photolens.query import Term
    from photolens.search import SearchFilter

    window = make_window(gui_library)
    wait_rows(qtbot, window, 13)
    window.sidebar.select_folder(str(photo_root / "sub"))
    wait_rows(qtbot, window, 6)
    window.search_bar.text.setText("beach")
    window.search_bar.avoid.setText("people, cars")
    window.search_bar.submit()
    terms = [Term("text", "beach"), Term("text", "people", -1.0), Term("text", "cars", -1.0)]
    with db_allowed():
        expected = gui_library.search(terms, limit=200, search_filter=SearchFilter(folder=str(photo_root / "sub")))
    qtbot.waitUntil(lambda: window.grid.title.text().startswith("Results"), timeout=5000)
    wait_rows(qtbot, window, 6)
    assert [r.id for r in window.model.rows()] == [h.photo_id for h in expected]
    assert "without people, cars" in window.grid.title.text()


def test_more_like_this_from_details_and_photo_drop(qtbot, make_window, gui_library, photo_root: Path):
    window = make_window(gui_library)
    wait_rows(qtbot, window, 13)
    query = str(photo_root / "photo_004.jpg")
    window.grid.select_row(grid_names(window).index("photo_004.jpg"))
    assert window.details.title.text() == "photo_004.jpg"
    window.details.more_button.click()
    with db_allowed():
        expected = [h.photo_id for h in gui_library.similar(query, limit=200)]
    wait_rows(qtbot, window, 12)
    assert [r.id for r in window.model.rows()] == expected
    assert window.search_bar.chip.path == query

    # dropping a photo file on the search bar searches like it, too
    window.search_bar.chip.set_photo(None)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo_root / "sub" / "photo_001.jpg"))])
    drop = QDropEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                      Qt.KeyboardModifier.NoModifier)
    window.search_bar.dropEvent(drop)
    with db_allowed():
        expected = [h.photo_id for h in gui_library.similar(str(photo_root / "sub" / "photo_001.jpg"), limit=200)]
    qtbot.waitUntil(lambda: [r.id for r in window.model.rows()] == expected, timeout=5000)


def test_photo_plus_words_is_a_composed_query(qtbot, make_window, gui_library, photo_root: Path, monkeypatch):
    from photolens.retrieval import service

    real = service.preset_properties
    monkeypatch.setattr(service, "preset_properties", lambda library, names=None: real(library, ["weather"]))
    window = make_window(gui_library)
    wait_rows(qtbot, window, 13)
    photo = str(photo_root / "photo_002.jpg")
    window.search_bar.set_photo(photo)
    window.search_bar.text.setText("at night")
    window.search_bar.submit()
    qtbot.waitUntil(lambda: window.grid.title.text().startswith("Results"), timeout=5000)
    wait_rows(qtbot, window, 12)
    ids = [r.id for r in window.model.rows()]
    with db_allowed():
        assert gui_library.photo_id(photo) not in ids  # the reference itself is excluded
    assert "like photo_002.jpg" in window.grid.title.text() and "at night" in window.grid.title.text()


def test_details_pane_shows_exif_and_keyboard_navigation(qtbot, make_window, gui_library):
    window = make_window(gui_library)
    wait_rows(qtbot, window, 13)
    window.grid.select_row(grid_names(window).index("paris.jpg"))
    assert window.details.title.text() == "paris.jpg"
    assert window.details.field_text("camera") == "Canon EOS 5D"
    assert window.details.field_text("taken") == "2019-05-06 07:08"
    assert window.details.field_text("place") == "48.85840° N, 2.29450° E"
    assert window.details.field_text("status") == "searchable"
    qtbot.waitUntil(window.details.preview.has_image, timeout=5000)
    window.grid.select_row(0)
    window.grid.view.setFocus()
    qtbot.keyClick(window.grid.view, Qt.Key.Key_Right)
    assert window.grid.current_row().name == grid_names(window)[1]
    assert window.details.title.text() == grid_names(window)[1]
    qtbot.keyClick(window.grid.view, Qt.Key.Key_End)
    assert window.grid.current_row().name == grid_names(window)[-1]


def test_thumbnails_arrive_and_are_cached_on_disk(qtbot, make_window, gui_library, tmp_path: Path):
    window = make_window(gui_library)
    wait_rows(qtbot, window, 13)
    window.grid.view.viewport().repaint()
    qtbot.waitUntil(lambda: window.thumbnails.pixmap(window.model.rows()[0].cache_key) is not None, timeout=5000)
    row = window.model.rows()[0]
    assert window.thumbnails.disk.path_for(row.cache_key).is_file()
    assert str(tmp_path / "thumbs") in str(window.thumbnails.disk.folder)


def test_export_selected_copies_the_right_files(qtbot, make_window, gui_library, tmp_path: Path, photo_root: Path):
    window = make_window(gui_library)
    wait_rows(qtbot, window, 13)
    window.grid.view.selectAll()
    window.sidebar.select_folder(str(photo_root / "trip"))
    wait_rows(qtbot, window, 1)
    window.sidebar.select_folder(str(photo_root / "sub"))
    wait_rows(qtbot, window, 6)
    window.grid.select_row(0)
    window.grid.view.selectionModel().select(window.model.index(2, 0),
                                             window.grid.view.selectionModel().SelectionFlag.Select)
    chosen = [r.path for r in window.grid.selected_rows()]
    assert len(chosen) == 2
    before = {p: Path(p).read_bytes() for p in chosen}
    dialog = window.photos.export_selected()
    out = tmp_path / "export"
    dialog.destination.setText(str(out))
    dialog.start()
    qtbot.waitUntil(lambda: dialog.result_data is not None, timeout=5000)
    assert sorted(os.listdir(out)) == sorted(os.path.basename(p) for p in chosen)
    for source in chosen:
        assert (out / os.path.basename(source)).read_bytes() == before[source] == Path(source).read_bytes()
    assert "2 exported" in dialog.status.text()
    # a second export into the same folder keeps both (never overwrites)
    dialog2 = window.photos.export_selected()
    dialog2.destination.setText(str(out))
    dialog2.start()
    qtbot.waitUntil(lambda: dialog2.result_data is not None, timeout=5000)
    assert len(os.listdir(out)) == 4


def test_grid_drags_file_urls(qtbot, make_window, gui_library):
    window = make_window(gui_library)
    wait_rows(qtbot, window, 13)
    mime = window.model.mimeData([window.model.index(0, 0), window.model.index(1, 0)])
    assert [u.toLocalFile() for u in mime.urls()] == [r.path for r in window.model.rows()[:2]]


def test_saved_searches_persist_in_the_library(qtbot, make_window, gui_library, photo_root: Path):
    window = make_window(gui_library)
    wait_rows(qtbot, window, 13)
    window.browser.save_search(SearchRequest("red car", ("dog",), None, str(photo_root / "sub")), "cars")
    with db_allowed():
        stored = browse.get_setting(gui_library.db, "gui.saved_searches")
    assert stored == [{"name": "cars", "text": "red car", "avoid": ["dog"], "photo": None,
                       "scope": str(photo_root / "sub")}]
    assert window.sidebar.searches.childCount() == 1
    window.browser.saved_search_selected(stored[0])
    qtbot.waitUntil(lambda: window.grid.title.text().startswith("Results"), timeout=5000)
    wait_rows(qtbot, window, 6)  # scoped to sub/
    window.browser.remove_saved_search(stored[0])
    with db_allowed():
        assert browse.get_setting(gui_library.db, "gui.saved_searches") == []


def test_bad_query_shows_a_message_not_a_crash(qtbot, make_window, gui_library):
    window = make_window(gui_library)
    wait_rows(qtbot, window, 13)
    window.search_bar.text.setText("cat + + dog")
    window.search_bar.submit()
    qtbot.waitUntil(lambda: window.grid.banner.isVisible(), timeout=5000)
    assert "operator" in window.grid.banner.text().lower()


def test_settings_dialog_persists_and_applies(qtbot, make_window, gui_library):
    from photolens.gui.settings import load_settings

    window = make_window(gui_library)
    wait_rows(qtbot, window, 13)
    window.setup.open_settings()
    dialog = window.settings_dialog
    dialog.excludes.setPlainText("*/Screenshots\n*.tmp")
    dialog.hidden.setChecked(True)
    dialog.disk_cache.setValue(64)
    dialog.result_limit.setValue(50)
    dialog.index_mode.setCurrentIndex(dialog.index_mode.findData("exact"))
    dialog.accept()
    with db_allowed():
        assert browse.get_setting(gui_library.db, "excludes") == ["*/Screenshots", "*.tmp"]
        assert browse.get_setting(gui_library.db, "include_hidden") is True
        assert browse.get_setting(gui_library.db, "index_mode") == "exact"
    assert window.library is not gui_library  # reopened: the vector index layer reads the mode when it opens
    with db_allowed():
        assert window.library.spaces.manager.settings.mode == "exact"
    saved = load_settings()
    assert saved.thumbnail_cache_mb == 64 and saved.result_limit == 50
    wait_rows(qtbot, window, 13)
    window.library.close()


def test_welcome_page_then_first_index(qtbot, make_window, library_factory, photo_root: Path):
    library = library_factory()
    window = make_window(library)
    qtbot.waitUntil(lambda: window.stack.currentIndex() == PAGE_WELCOME, timeout=5000)
    assert "never modified" in window.welcome.findChildren(type(window.grid.title))[0].text()
    with qtbot.waitSignal(window.index.finished, timeout=60_000) as blocker:
        window.welcome.folders_chosen.emit([str(photo_root)])
    outcome = blocker.args[0]
    assert not outcome.cancelled and outcome.summary.embedded == 13
    wait_rows(qtbot, window, 13)
    assert window.stack.currentIndex() == PAGE_GRID
    with db_allowed():
        assert library.roots() == [str(photo_root)]
    assert window.settings.resume_index is False


def test_reloading_the_same_listing_keeps_the_current_photo(qtbot, make_window, gui_library):
    window = make_window(gui_library)
    wait_rows(qtbot, window, 13)
    window.grid.select_row(4)
    chosen = window.grid.current_row()
    window.indexing.refresh_library(browse_after=True)  # what happens when indexing finishes
    wait_rows(qtbot, window, 13)
    assert window.grid.current_row() == chosen
    assert [i.row() for i in window.grid.view.selectionModel().selectedIndexes()] == [4]


def test_an_interrupted_run_resumes_at_the_next_start(qtbot, make_window, library_factory, photo_root: Path):
    from photolens.gui.settings import GuiSettings

    library = library_factory()
    first = make_window(library)
    first.indexing.start_index([str(photo_root)])
    assert first.settings.resume_index  # marked as soon as a run starts
    first.close()  # quitting mid-run cancels it and keeps the mark
    assert not first.index.running and first.settings.resume_index
    with db_allowed():
        assert library.status()["embedded"] < 13 or first.indexing.last_outcome.cancelled

    second = make_window(library, settings=GuiSettings(resume_index=True))
    with qtbot.waitSignal(second.index.finished, timeout=60_000) as done:
        pass
    assert not done.args[0].cancelled
    with db_allowed():
        assert library.status()["embedded"] == 13
    assert second.settings.resume_index is False
