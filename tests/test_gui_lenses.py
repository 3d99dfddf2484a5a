"""Lens views through the adapter: the group view (one section per value word, counts, unsure bucket),
the cluster view (sections named by nearest words, k adjustable), the lens editor, and the lens UI
hiding itself when no lens service exists.

The lens service here is a fake with known answers (parity of the photo id, folders), returning the
lens engine's real ``Grouping`` / ``Clustering`` objects, so what the views must show is known exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from photolens import browse
from photolens.gui.dialogs.lens_editor import HINT  # noqa: E402
from photolens.gui.lens_adapter import (
    LensAdapter,
    LensFields,
    sections_from_clustering,
    sections_from_grouping,
)
from photolens.gui.main_window import PAGE_GRID, PAGE_SECTIONS
from photolens.lenses.cluster import ClusterInfo, Clustering
from photolens.lenses.definition import LensDefinition
from photolens.lenses.group import Grouping
from tests.test_gui_support import db_allowed  # noqa: E402

pytest_plugins = ["tests.test_gui_support"]  # shared fixtures: gui_library, photo_root, make_window


class FakeLensService:
    def __init__(self, library):
        self.library = library
        self.lenses = {"parity": LensDefinition("parity", ("even", "odd", "never"), description="id parity")}
        self.calls = []

    def list_lenses(self):
        return list(self.lenses.values())

    def get_lens(self, name):
        return self.lenses[name]

    def save_lens(self, definition):
        self.lenses[definition.name] = definition

    def group(self, lens, photo_ids):
        definition = lens if isinstance(lens, LensDefinition) else self.lenses[lens]
        self.calls.append(("group", definition.name, list(photo_ids)))
        ids = np.asarray(photo_ids)
        value = (ids % 2).astype(np.int64)
        score = (1.0 - ids / 100).astype(np.float32)
        margin = np.full(len(ids), 0.5, dtype=np.float32)
        unsure = ids % 5 == 0
        return Grouping(definition.values, value, score, margin, unsure, 0.1)

    def cluster(self, lens, photo_ids, k=None):
        self.calls.append(("cluster", lens, list(photo_ids), k))
        ids = np.asarray(photo_ids)
        k = k or 2
        labels = (ids % k).astype(np.int64)
        clusters = [ClusterInfo(c, int((labels == c).sum()), [(f"word{c}", 0.9), (f"other{c}", 0.5)],
                                np.flatnonzero(labels == c)[::-1][:2]) for c in range(k)]
        return Clustering(labels, np.zeros((k, 4), dtype=np.float32), clusters, float("nan"))


def _expected_groups(library) -> dict[str, int]:
    with db_allowed():
        ids = [r.id for r in browse.list_photos(library.db)]
    even = sum(1 for i in ids if i % 2 == 0 and i % 5)
    odd = sum(1 for i in ids if i % 2 == 1 and i % 5)
    unsure = sum(1 for i in ids if i % 5 == 0)
    return {k: v for k, v in {"even": even, "odd": odd, "Unsure": unsure}.items() if v}


def test_sections_from_real_grouping_objects():
    grouping = Grouping(("red", "green", "blue"), np.array([0, 1, 0, 0, 1]), np.array([.1, .9, .3, .2, .5]),
                        np.array([.5, .5, .5, .01, .5]), np.array([False, False, False, True, False]), 0.1)
    sections = sections_from_grouping([10, 11, 12, 13, 14], grouping)
    assert [(s.title, s.photo_ids, s.kind) for s in sections] == [
        ("red", (12, 10), "value"), ("green", (11, 14), "value"), ("blue", (), "empty"), ("Unsure", (13,), "unsure")]
    with pytest.raises(ValueError):
        sections_from_grouping([1, 2], grouping)


def test_sections_from_real_clustering_objects():
    clustering = Clustering(np.array([1, 0, 1, 1]), np.zeros((2, 2)), [
        ClusterInfo(0, 1, [("beach", 0.8)], np.array([1])),
        ClusterInfo(1, 3, [("snow", 0.7), ("ice", 0.6)], np.array([3, 0]))], 0.4)
    sections = sections_from_clustering([5, 6, 7, 8], clustering)
    assert [(s.title, s.photo_ids) for s in sections] == [("snow · ice", (8, 5, 7)), ("beach", (6,))]
    assert sections[0].subtitle == "snow 0.70, ice 0.60"


def test_group_view_shows_one_section_per_word_and_unsure(qtbot, make_window, gui_library):
    window = make_window(gui_library, lens_service=FakeLensService(gui_library))
    qtbot.waitUntil(lambda: window.model.rowCount() == 13, timeout=5000)
    assert window.lens_bar.isVisible() and window.lens_bar.combo.count() == 2
    assert window.sidebar.lenses.childCount() == 1 and not window.sidebar.lenses.isHidden()
    window.lens_bar.set_lens("parity")
    with qtbot.waitSignal(window.lens_ctl.sections_shown, timeout=5000):
        window.lens_bar.set_mode("groups")
    assert window.stack.currentIndex() == PAGE_SECTIONS
    expected = _expected_groups(gui_library)
    assert window.sections_view.titles() == list(expected)
    assert window.sections_view.counts() == expected
    assert "never" in window.sections_view.empty_note.text()  # a word no photo went to
    assert "parity: groups of all photos (13 photos)" in window.sections_view.heading.text()
    even = window.sections_view.sections[0]
    assert even.model.rowCount() == expected["even"]
    assert all(r.id % 2 == 0 and r.id % 5 for r in even.model.rows())
    scores = [1 - r.id / 100 for r in even.model.rows()]
    assert scores == sorted(scores, reverse=True)  # best-scoring photos first
    assert even.count.text() == f"{expected['even']} photos"


def test_group_view_follows_the_folder_and_show_all_opens_the_grid(qtbot, make_window, gui_library, photo_root: Path):
    service = FakeLensService(gui_library)
    window = make_window(gui_library, lens_service=service)
    qtbot.waitUntil(lambda: window.model.rowCount() == 13, timeout=5000)
    window.lens_bar.set_lens("parity")
    window.lens_bar.set_mode("groups")
    with qtbot.waitSignal(window.lens_ctl.sections_shown, timeout=5000):
        window.sidebar.select_folder(str(photo_root / "sub"))
    with db_allowed():
        sub_ids = {r.id for r in browse.list_photos(gui_library.db, str(photo_root / "sub"))}
    assert set(service.calls[-1][2]) == sub_ids
    assert sum(window.sections_view.counts().values()) == 6
    odd = next(w for w in window.sections_view.sections if w.data.section.title == "odd")
    with qtbot.waitSignal(window.browser.photos_shown, timeout=5000):
        odd.show_all.click()
    assert window.stack.currentIndex() == PAGE_GRID
    assert window.grid.title.text() == "parity: odd"
    assert [r.id for r in window.model.rows()] == list(odd.data.section.photo_ids)


def test_cluster_view_names_sections_and_k_is_adjustable(qtbot, make_window, gui_library):
    service = FakeLensService(gui_library)
    window = make_window(gui_library, lens_service=service)
    qtbot.waitUntil(lambda: window.model.rowCount() == 13, timeout=5000)
    window.lens_bar.set_lens("parity")
    with qtbot.waitSignal(window.lens_ctl.sections_shown, timeout=5000):
        window.lens_bar.set_mode("clusters")
    assert window.lens_bar.k.isVisible()
    assert service.calls[-1][3] is None  # k = auto
    assert sorted(window.sections_view.titles()) == ["word0", "word1"]  # 0.5 is under 0.8 × 0.9: not in the name
    with qtbot.waitSignal(window.lens_ctl.sections_shown, timeout=5000):
        window.lens_bar.k.setValue(3)
    assert service.calls[-1][3] == 3
    assert len(window.sections_view.sections) == 3
    counts = list(window.sections_view.counts().values())
    assert counts == sorted(counts, reverse=True) and sum(counts) == 13
    first = window.sections_view.sections[0]
    reps = list(first.data.section.photo_ids[:2])
    assert [r.id for r in first.model.rows()[:2]] == reps  # representatives lead the strip


def test_export_a_whole_group(qtbot, make_window, gui_library, tmp_path: Path):
    window = make_window(gui_library, lens_service=FakeLensService(gui_library))
    qtbot.waitUntil(lambda: window.model.rowCount() == 13, timeout=5000)
    window.lens_bar.set_lens("parity")
    with qtbot.waitSignal(window.lens_ctl.sections_shown, timeout=5000):
        window.lens_bar.set_mode("groups")
    odd = next(w for w in window.sections_view.sections if w.data.section.title == "odd")
    odd.export.click()
    dialog = window.photos.export_dialog
    dialog.destination.setText(str(tmp_path / "odd"))
    dialog.start()
    qtbot.waitUntil(lambda: dialog.result_data is not None, timeout=5000)
    with db_allowed():
        rows = browse.rows_in_order(gui_library.db, odd.data.section.photo_ids)
    assert sorted(p.name for p in (tmp_path / "odd").iterdir()) == sorted(r.name for r in rows)


def test_lens_editor_validates_previews_and_saves(qtbot, make_window, gui_library):
    service = FakeLensService(gui_library)
    window = make_window(gui_library, lens_service=service)
    qtbot.waitUntil(lambda: window.model.rowCount() == 13, timeout=5000)
    window.lens_ctl.open_editor(None)
    editor = window.lens_ctl.editor
    save = editor.buttons.button(editor.buttons.StandardButton.Save)
    # nothing typed yet: a hint, not an error in red
    assert editor.validation.text() == HINT and not editor.validation.property("error") and not save.isEnabled()
    editor.name.setText("sky")
    assert editor.validation.property("error")  # now there is something to judge
    editor.values.setPlainText("sunny")
    assert "at least 2 values" in editor.validation.text()
    editor.values.setPlainText("sunny\nrainy\nSunny")
    assert "appears twice" in editor.validation.text()
    editor.values.setPlainText("sunny\nrainy")
    editor.templates.setPlainText("a {} day {}")
    assert "slots" in editor.validation.text()
    editor.templates.setPlainText("a {} day")
    assert editor.validation.text() == "✓ Valid lens" and save.isEnabled()
    editor.refresh_preview()  # (the live preview also fires on its own after a pause in typing)
    assert editor.preview_view.titles()  # groups of a sample of the library
    assert service.calls[-1][1] == "sky"
    assert sum(editor.preview_view.counts().values()) == 13
    save.click()
    assert service.lenses["sky"].values == ("sunny", "rainy")
    assert service.lenses["sky"].templates == ("a {} day",)
    qtbot.waitUntil(lambda: window.lens_bar.combo.findData("sky") >= 0, timeout=5000)


def test_lens_editor_presets(qtbot, make_window, gui_library):
    window = make_window(gui_library, lens_service=FakeLensService(gui_library))
    qtbot.waitUntil(lambda: bool(window.lens_presets), timeout=5000)
    window.lens_ctl.open_editor(None)
    editor = window.lens_ctl.editor
    index = editor.presets.findData("weather")
    assert index > 0
    editor.presets.setCurrentIndex(index)
    assert editor.name.text() == "weather"
    assert "sunny" in editor.values.toPlainText().splitlines()
    assert editor.validation.text() == "✓ Valid lens"


def test_lens_ui_hidden_without_a_service(qtbot, make_window, gui_library):
    window = make_window(gui_library)
    qtbot.waitUntil(lambda: window.model.rowCount() == 13, timeout=5000)
    assert not window.lens_bar.isVisible()
    assert window.sidebar.lenses.isHidden()
    assert not window.lens_menu.menuAction().isVisible()
    adapter = LensAdapter(gui_library, service=None, discover=False)
    assert not adapter.available and adapter.list_lenses() == []
    assert adapter.validate(LensFields("ok", "", ["a", "b"], [])) is None


def test_views_with_the_real_lens_service(qtbot, make_window, gui_library, photo_root: Path):
    from photolens.lenses.service import LensService

    service = LensService(gui_library)
    window = make_window(gui_library, lens_service=service)
    qtbot.waitUntil(lambda: window.model.rowCount() == 13, timeout=5000)
    # presets are offered before they are saved; the sidebar lists saved lenses only
    assert window.lens_bar.combo.findData("weather") > 0
    assert window.sidebar.lenses.childCount() == 0
    window.lens_bar.set_lens("weather")
    with qtbot.waitSignal(window.lens_ctl.sections_shown, timeout=30_000):
        window.lens_bar.set_mode("groups")
    with db_allowed():
        ids = [r.id for r in browse.list_photos(gui_library.db, sort="name")]
        expected = sections_from_grouping(ids, service.group("weather", np.asarray(ids)))
    shown = window.sections_view.counts()
    assert shown == {s.title: s.count for s in expected if s.count}
    assert sum(shown.values()) == 13
    with db_allowed():
        words = set(service.get_lens("weather").values)
    assert set(shown) <= words | {"Unsure"}
    qtbot.waitUntil(lambda: window.sidebar.lenses.childCount() == 1, timeout=5000)  # the preset got saved

    with qtbot.waitSignal(window.lens_ctl.sections_shown, timeout=30_000):
        window.lens_bar.k.setValue(2)
        window.lens_bar.set_mode("clusters")
    assert len(window.sections_view.sections) == 2
    assert sum(window.sections_view.counts().values()) == 13
    for title in window.sections_view.titles():  # named by their nearest words (those with weight)
        assert set(title.split(" (")[0].split(" · ")) <= words

    # text search and "more like this" go through the lens
    window.lens_bar.set_mode("photos")
    window.search_bar.text.setText("rain")
    window.search_bar.submit()
    qtbot.waitUntil(lambda: window.grid.title.text().startswith("Results through weather"), timeout=30_000)
    qtbot.waitUntil(lambda: window.model.rowCount() == 13, timeout=5000)
    with db_allowed():
        expected_ids = [h.photo_id for h in service.search("weather", "rain", limit=200)]
    assert [r.id for r in window.model.rows()] == expected_ids
    photo = str(photo_root / "photo_004.jpg")
    window.browser.more_like_this(photo)
    with db_allowed():
        expected_ids = [h.photo_id for h in service.similar("weather", photo, limit=200)]
    qtbot.waitUntil(lambda: [r.id for r in window.model.rows()] == expected_ids, timeout=30_000)

    window.lens_ctl.delete_lens("weather", confirm=False)
    qtbot.waitUntil(lambda: window.sidebar.lenses.childCount() == 0, timeout=5000)
