"""Workers: stale results dropped, bounded batches, rate/ETA, and the indexing worker's progress, pause,
cancel and resume on a real library."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QThreadPool

from photolens.gui.feeder import BatchFeeder
from photolens.gui.indexing import IndexController, IndexStatus, ProgressMeter, format_eta
from photolens.gui.tasks import Pools, SyncPool, TaskRunner

pytest_plugins = ["tests.test_gui_support"]  # shared fixtures: gui_library, photo_root, make_window


def test_task_runner_drops_stale_results_and_cancels_their_context(qtbot):
    pool = QThreadPool()
    pool.setMaxThreadCount(2)
    runner = TaskRunner(Pools(pool, pool, pool, pool))
    gate, started = threading.Event(), threading.Event()
    got, saw_cancel = [], []

    def slow(context):
        started.set()
        gate.wait(5)
        saw_cancel.append(context.cancelled)
        return "old"

    runner.run("search", "model", slow, got.append, with_context=True)
    assert started.wait(5)
    runner.run("search", "model", lambda: "new", got.append)  # a newer search replaces it
    qtbot.waitUntil(lambda: got == ["new"], timeout=5000)
    gate.set()
    pool.waitForDone(5000)
    qtbot.waitUntil(lambda: runner.pending == 0, timeout=5000)
    assert got == ["new"]  # the slow, stale answer never reached the GUI
    assert saw_cancel == [True]  # and it could tell it had been replaced


def test_task_runner_reports_errors_progress_and_skips_work_made_stale_before_it_started(qtbot):
    sync = SyncPool()
    runner = TaskRunner(Pools(sync, sync, sync, sync))
    errors, ran, progress = [], [], []
    runner.run("a", "db", lambda: 1 / 0, lambda r: None, errors.append)
    assert isinstance(errors[0], ZeroDivisionError)
    runner.run("p", "io", lambda ctx: [ctx.progress(n) for n in range(3)] and "done", ran.append, None,
               progress.append, with_context=True)
    assert progress == [0, 1, 2] and ran == ["done"]

    class Later(SyncPool):
        def start(self, runnable, priority=0):
            self.held = runnable

    later = Later()
    runner = TaskRunner(Pools(later, later, later, later))
    runner.run("b", "db", lambda: ran.append(1), lambda r: ran.append("late"))
    runner.invalidate("b")
    later.held.run()
    assert ran == ["done"]


def test_after_current_waits_for_every_task_in_flight(qtbot):
    pool = QThreadPool()
    pool.setMaxThreadCount(2)
    runner = TaskRunner(Pools(pool, pool, pool, pool))
    gate = threading.Event()
    order = []
    runner.run("one", "db", lambda: gate.wait(5) and "one", order.append)
    runner.run("two", "model", lambda: gate.wait(5) and "two", order.append)
    runner.after_current(lambda: order.append("closed"))
    qtbot.wait(50)
    assert order == []  # both still running: the old library must stay open
    gate.set()
    qtbot.waitUntil(lambda: "closed" in order, timeout=5000)
    assert sorted(order[:2]) == ["one", "two"] and order[2] == "closed"
    now = []
    runner.after_current(lambda: now.append(True))  # nothing in flight: at once
    assert now == [True]


def test_shutdown_cancels_and_waits(qtbot):
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    runner = TaskRunner(Pools(pool, pool, pool, pool))
    started, results = threading.Event(), []

    def long_task(context):
        started.set()
        while not context.cancelled:
            context.cancel_event.wait(0.01)
        return "stopped"

    runner.run("long", "io", long_task, results.append, with_context=True)
    runner.run("queued", "io", lambda: results.append("ran"), results.append)
    assert started.wait(5)
    assert runner.shutdown(5000)  # the running task saw the cancel and returned; the queued one never ran
    assert "ran" not in results
    assert results == []  # nothing is delivered after shutdown


def test_batch_feeder_delivers_everything_in_bounded_chunks(qtbot):
    feeder = BatchFeeder(chunk=100, budget_ms=0.0)  # one chunk per event-loop pass
    chunks = []
    finished = []
    feeder.feed(list(range(1050)), chunks.append, lambda: finished.append(True))
    assert len(chunks) == 1  # the first chunk at once, the rest between events
    qtbot.waitUntil(lambda: finished == [True], timeout=5000)
    assert [len(c) for c in chunks] == [100] * 10 + [50]
    assert [x for c in chunks for x in c] == list(range(1050))


def test_batch_feeder_abandons_the_previous_feed(qtbot):
    feeder = BatchFeeder(chunk=10, budget_ms=0.0)
    old, new = [], []
    feeder.feed(list(range(100)), old.extend)
    feeder.feed(list(range(5)), new.extend)
    qtbot.waitUntil(lambda: not feeder.busy, timeout=2000)
    qtbot.wait(20)
    assert old == list(range(10)) and new == list(range(5))


def test_progress_meter_rate_and_eta():
    now = [0.0]
    meter = ProgressMeter(window_s=10, clock=lambda: now[0])
    assert meter.rate is None and meter.eta(100) is None
    for t, done in ((0, 0), (1, 10), (2, 20)):
        now[0] = t
        meter.update(done)
    assert meter.rate == 10.0
    assert meter.eta(100) == 8.0
    meter.pause()
    assert meter.rate is None
    assert format_eta(3725) == "1:02:05" and format_eta(65) == "1:05" and format_eta(None) == "–"
    status = IndexStatus("embed", 20, 100, 10.0, 8.0)
    assert status.label == "Indexing 20 / 100 · 10.0 photos/s · ETA 0:08"


def test_index_controller_progress_until_done(qtbot, library_factory, photo_root: Path):
    library = library_factory()
    controller = IndexController()
    updates = []
    controller.progress.connect(updates.append)
    with qtbot.waitSignal(controller.finished, timeout=60_000) as done:
        assert controller.start(library, [str(photo_root)])
        assert not controller.start(library, [str(photo_root)])  # one run at a time
    outcome = done.args[0]
    assert not outcome.cancelled and outcome.error is None
    assert outcome.summary.embedded == 13 and outcome.summary.failed == 1
    assert [p for p, _ in outcome.problems] == [str(photo_root / "broken.jpg")]
    phases = [u.phase for u in updates]
    assert phases[0] == "scan" and phases[-1] == "done" and "embed" in phases
    last_embed = [u for u in updates if u.phase == "embed"][-1]
    assert last_embed.total == 14 and last_embed.done == 14
    assert not controller.running


def test_index_pause_then_cancel_then_resume(qtbot, library_factory, photo_root: Path):
    library = library_factory()
    controller = IndexController()
    paused = []
    controller.progress.connect(lambda s: s.paused and paused.append(s))
    controller.start(library, [str(photo_root)], paused=True)  # stops at its first event, between batches
    qtbot.waitUntil(lambda: bool(paused), timeout=10_000)
    assert controller.running and controller.paused
    embedded_while_paused = library.status()["embedded"]
    qtbot.wait(200)
    assert library.status()["embedded"] == embedded_while_paused  # nothing moves while paused
    with qtbot.waitSignal(controller.finished, timeout=60_000) as done:
        controller.cancel()
    assert done.args[0].cancelled
    assert library.status()["embedded"] < 13
    # the next run resumes: only what is missing is embedded
    with qtbot.waitSignal(controller.finished, timeout=60_000) as done:
        controller.start(library, [str(photo_root)])
    assert not done.args[0].cancelled
    assert library.status()["embedded"] == 13


def test_gui_thread_guard_raises_on_the_gui_thread_only(qtbot, library_factory):
    import pytest

    from photolens import browse
    from photolens.gui import guard

    library = library_factory()
    guard.install()
    try:
        with pytest.raises(guard.GuiThreadDatabaseError):
            browse.count_photos(library.db)  # the GUI thread, outside a task
        sync = SyncPool()
        got = []
        TaskRunner(Pools(sync, sync, sync, sync)).run("n", "db", lambda: browse.count_photos(library.db), got.append)
        worker = threading.Thread(target=lambda: got.append(browse.count_photos(library.db)))
        worker.start()
        worker.join(10)
        with guard.allowed():
            got.append(browse.count_photos(library.db))
        assert got == [0, 0, 0]  # as a task, on another thread, or explicitly allowed: fine
    finally:
        guard.uninstall()
    assert browse.count_photos(library.db) == 0
