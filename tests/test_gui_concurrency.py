"""Window tests on the REAL pools, where the races live: a slow search answered after a newer one (stale
results), switching models while a search runs, and closing while indexing or while a task still runs."""

from __future__ import annotations

import threading
from pathlib import Path

from photolens.gui import search_adapter
from photolens.gui.tasks import Pools
from tests.test_gui_support import db_allowed

pytest_plugins = ["tests.test_gui_support"]  # shared fixtures: gui_library, photo_root, make_window


class GatedSearch:
    """Wraps run_search: a query named in ``hold`` waits for ``gate`` (and records when it ran)."""

    def __init__(self, hold: set[str]):
        self.hold = hold
        self.gate = threading.Event()
        self.started = threading.Event()
        self.finished: list[str] = []
        self.real = search_adapter.run_search

    def __call__(self, library, request, limit, lens=None, lenses=None):
        if request.text in self.hold:
            self.started.set()
            assert self.gate.wait(20), "the test never opened the gate"
        result = self.real(library, request, limit, lens, lenses)
        self.finished.append(request.text)
        return result


def test_a_stale_search_never_reaches_the_grid(qtbot, make_window, gui_library, monkeypatch):
    from photolens.gui.controllers import browse as browse_controller

    gated = GatedSearch({"slow dog"})
    monkeypatch.setattr(browse_controller, "run_search", gated)
    window = make_window(gui_library, pools=Pools.create())
    qtbot.waitUntil(lambda: window.model.rowCount() == 13 and not window.feeder.busy, timeout=10_000)
    shown = []
    window.browser.photos_shown.connect(lambda: shown.append(window.grid.title.text()))
    window.search_bar.text.setText("slow dog")
    window.search_bar.submit()
    assert gated.started.wait(10)
    window.search_bar.text.setText("red car")
    window.search_bar.submit()  # queued behind the slow one on the one model thread
    gated.gate.set()
    qtbot.waitUntil(lambda: gated.finished == ["slow dog", "red car"], timeout=20_000)
    qtbot.waitUntil(lambda: bool(shown) and "red car" in shown[-1], timeout=10_000)
    qtbot.wait(100)
    assert not any("slow dog" in title for title in shown)  # computed, but dropped as stale
    with db_allowed():
        expected = [h.photo_id for h in gui_library.search("red car", limit=200)]
    assert [r.id for r in window.model.rows()] == expected


def test_switching_models_mid_search_closes_the_old_library_only_after_the_search(qtbot, make_window, gui_library,
                                                                                 tiny_spec: str, monkeypatch):
    from photolens.gui.controllers import browse as browse_controller

    gated = GatedSearch({"slow dog"})
    monkeypatch.setattr(browse_controller, "run_search", gated)
    events = []
    real_close = gui_library.close
    monkeypatch.setattr(gui_library, "close", lambda: (events.append("old library closed"), real_close()))
    window = make_window(gui_library, pools=Pools.create())
    qtbot.waitUntil(lambda: window.model.rowCount() == 13 and not window.feeder.busy, timeout=10_000)
    window.search_bar.text.setText("slow dog")
    window.search_bar.submit()
    assert gated.started.wait(10)
    window.setup.change_model(tiny_spec, remember=False)
    qtbot.waitUntil(lambda: window.library is not gui_library, timeout=20_000)  # the new library is in use
    qtbot.wait(100)
    assert events == []  # the running search still uses the old one: it stays open
    gated.gate.set()
    qtbot.waitUntil(lambda: events == ["old library closed"], timeout=20_000)
    assert gated.finished[0] == "slow dog"
    # the view is shown again with the new library (the search re-run), nothing computed before the switch
    qtbot.waitUntil(lambda: "slow dog" in window.grid.title.text() and window.model.rowCount() == 13
                    and not window.feeder.busy, timeout=60_000)
    assert gated.finished.count("slow dog") == 2
    window.library.close()


def test_close_while_indexing_cancels_and_waits(qtbot, make_window, library_factory, photo_root: Path):
    library = library_factory()
    window = make_window(library, pools=Pools.create())
    paused = []
    window.index.progress.connect(lambda status: status.paused and paused.append(status))
    window.indexing.start_index([str(photo_root)])
    window.indexing.toggle_pause()  # stops it between two batches: certainly mid-run
    qtbot.waitUntil(lambda: bool(paused), timeout=20_000)
    with qtbot.waitSignal(window.closed, timeout=20_000):
        window.close()
    assert not window.index.running and all(p.activeThreadCount() == 0 for p in window.pools.all())
    assert window.indexing.last_outcome.cancelled
    assert window.settings.resume_index  # the next start resumes
    with db_allowed():  # the library was not closed under the indexer: it is intact and the run resumes
        for _ in library.index([str(photo_root)]):
            pass
        status = library.status()
    assert status["photos"] == 14 and status["embedded"] == 13


def test_close_while_a_task_runs_hides_first_and_finishes_when_it_returns(qtbot, make_window, gui_library,
                                                                           monkeypatch):
    from photolens.gui import main_window
    from photolens.gui.controllers import browse as browse_controller

    gated = GatedSearch({"slow dog"})
    monkeypatch.setattr(browse_controller, "run_search", gated)
    monkeypatch.setattr(main_window, "CLOSE_WAIT_MS", 200)
    window = make_window(gui_library, pools=Pools.create())
    qtbot.waitUntil(lambda: window.model.rowCount() == 13 and not window.feeder.busy, timeout=10_000)
    closed = []
    window.closed.connect(lambda: closed.append(True))
    window.search_bar.text.setText("slow dog")
    window.search_bar.submit()
    assert gated.started.wait(10)
    window.close()
    qtbot.wait(300)
    assert not window.isVisible() and closed == []  # hidden, but not closed under a running search
    gated.gate.set()
    qtbot.waitUntil(lambda: closed == [True], timeout=20_000)
    assert gated.finished == ["slow dog"]
